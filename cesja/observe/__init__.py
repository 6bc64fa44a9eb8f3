"""Observing the service: what every process logs and counts.

- `logs`: log lines as text or JSON, carrying the case, scan and job they are about;
- `metrics`: Prometheus counters and histograms, summed over the processes of one service.
"""
