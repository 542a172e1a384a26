"""Analytics for cxloop, pure Python + NumPy/SciPy/scikit-learn (no Django import):

- ``metrics``: NPS, CSAT, CES and CSI with confidence intervals and crosstabs (docs/metrics.md);
- ``rfm``: recency/frequency/monetary scores, value tiers and life-cycle stages;
- ``clv``: BG/NBD and Gamma-Gamma lifetime value (docs/retention.md);
- ``churn``: the churn early-warning model with time-based validation and reasons;
- ``text``: sentiment and aspects of Simplified/Traditional Chinese and English texts
  (docs/text-analytics.md);
- ``kano``, ``drivers``, ``abtest``, ``anomaly``: KANO classification, key drivers (relative
  weights, Shapley), A/B comparisons and KPI anomaly detection (docs/understand.md).
"""
