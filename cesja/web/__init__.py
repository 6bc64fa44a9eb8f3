"""Pages for people: the customer's page behind an unguessable link, and the back-office UI."""
