"""The hr service's rules, pure: no I/O, no database sessions, no Kafka.

- `staff`: roles of both regulations and the staff status lifecycle (R1 §2, R2 §2).
- `attendance`: shifts, clock-ins and -outs, late arrival and early leave (R2 §6.1).
- `kpis`: the KPI catalogue, scoring against targets, templates and rating bands (R2 §5).
- `discipline`: the rule catalogue, the escalation ladder and who may decide (R1 §7.2, R2 §8).
"""
