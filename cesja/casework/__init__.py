"""Casework: the cases themselves, what happens to them, and what they are judged on.

- `cases`: create, read, list and reissue a case, each change in the audit trail;
- `schemas`, `identifiers`: the API's bodies, checked field by field (PESEL, NIP, REGON,
  KRS, postal codes, domains);
- `forms`: from a case to what its form prints, and the PDF;
- `evidence`: from stored page readings (with the e-mail each came in) and staff decisions
  to the checks;
- `addresses`: e-mail addresses compared as mail hosts do (case aside, IDN in ASCII);
- `lifecycle`: a case moved on when a page is read or staff decide (`workflow`'s machine);
- `staff_actions`: what people do to a case or a notice, for the API and the back office;
- `deadlines`: cases past their deadline expire, a reminder half-way;
- `webhooks`: the transfer-ready notice, scheduled with the transition, POSTed and retried;
- `notices`: e-mails to the parties, scheduled with what they tell, sent and retried the same
  way; `mail` words them (templates/mail), signs them (DKIM) and hands them to SMTP;
- `audit_log`: the hash-chained audit trail, appended to and verified.
"""
