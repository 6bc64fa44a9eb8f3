"""Cesja, the application: what a registrar runs. Imports go down this list (`lint-imports`).

- `cli`: the `cesja` command; `serving` (`cesja serve`'s API processes), `demo`, `doctor`;
- `app`: the ASGI application, its middleware and the runtime it serves from;
- `web`: the back office and the customer's pages (Jinja2 and htmx, served from here), staff
  sign-in (a password, a key, or single sign-on: `web.sso`) and what is said in Polish or
  English (`web.catalogue`, `web.words`);
- `api`: the JSON API under `/api/v1`, health, readiness and metrics; errors become answers in
  one place (`api.errors`); requests served in turn (`api.turns`);
- `workers`: background work: job kinds, the scheduler of periodic jobs, worker processes
  held to their budgets, heartbeats, and what the queue says of the work;
- `intake`: a received file (an upload, a hot folder's, an e-mail's attachment, from the API or
  an IMAP mailbox) kept and queued, and each of its pages read (`ocr`) and stored;
- `casework`: cases, their forms, checks, lifecycle (`workflow`), staff's decisions, deadlines,
  the transfer-ready notice, the e-mails to the parties (`notices`, `mail`), the customers'
  links, retention and export, and the audit trail;
- `runtime`: what a running process holds: settings, the database engine, the scan store,
  the doorbell of its workers;
- `db` (engines, rows, the job queue, migrations), `storage` (the scan store by sha256),
  `checkpoints` (the audit trail's heads, signed, in a file of the scan store);
- `observe`: logs and metrics;
- `config` (settings from the environment), `keyring` (the keys page codes are signed with),
  `errors`, `text` (what a text field may hold), `example` (the contract's example case).
"""
