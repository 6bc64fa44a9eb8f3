"""Intake: what arrives, from the upload to the reading of each page.

- `received`: one file taken in: checked while a temporary file, kept by its sha256, the scan
  and a job for each of its pages committed together before the answer (`receive`);
- `processing`: a page's job: decoded under its budget, read, stored with its reading, its
  case moved on; the scan done with its last page;
- `messages`: an e-mail taken in: kept like a scan, each attachment that is a scan received
  as one (channel `email`, the message its source), the rest refused by name;
- `senders`: who sent an e-mail, as the registrar's mail host vouched for it
  (`Authentication-Results`: DMARC, or DKIM aligned with the From domain);
- `mailbox`: an IMAP folder taken through `messages` (`cesja mail`), each message moved once
  its intake committed;
- `hot_folder`: a folder a scanner or fax gateway writes into, taken through `receive`.
"""

from cesja.intake.received import CHANNELS, Received, new_scan_id, receive

__all__ = ["CHANNELS", "Received", "new_scan_id", "receive"]
