"""Pages for people: the customer's page behind an unguessable link, and the back-office UI.

- `customer`, `back_office`: the routes; `review`: what the back-office pages show;
- `office_auth`, `staff_session`, `sso`: staff sign-in, the server-side session (with the
  language it speaks), single sign-on;
- `catalogue`: the one gettext catalogue (`cesja.po`), Polish by default, English its msgids;
- `words`, `office_labels`: what the pages say in the reader's language, from that catalogue;
- `templating`: the Jinja2 environment, its i18n extension saying templates' `{% trans %}`.
"""
