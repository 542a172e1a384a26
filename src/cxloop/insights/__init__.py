"""Survey analytics for cxloop: NPS, CSAT, CES and CSI with confidence intervals and crosstabs.

Pure Python + NumPy (no Django), see ``cxloop.insights.metrics`` and docs/metrics.md.
"""
