"""Analysis layer: every measurement and procedure behind a figure (no plotting here).

* ``forget`` — Fig. 6: window feature maps found by a logistic regression, dropped, measured.
* ``filters`` / ``guided_backprop`` — Fig. 5: D's most active filters, guided backprop, object energy.
* ``walks`` — Fig. 4: latent interpolation and the largest-step ratio.
* ``exemplars`` / ``arithmetic`` / ``turn`` — Figs. 7-8: exemplar means, vector arithmetic, turn vector.
* ``samples`` / ``memorization`` — Figs. 2-3 and the nearest-neighbour check.
* ``probe`` — Tables 1-2: D's features + a linear L2-SVM.
* ``measure`` — what a rooms / faces generator draws; ``dedup`` — the paper's autoencoder hash.
* ``annotations`` / ``sample_sheet`` — box files (CSV, COCO) and numbered sample sheets.

Layer hooks (record / ablate) live in :mod:`interp.core.hooks`.
"""
