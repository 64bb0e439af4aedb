// Package drift measures how far a window of live values has moved from a frozen reference.
//
// It has two layers. The statistics (PSI, KL, Jensen–Shannon, Hellinger, chi-square,
// two-proportion z, Kolmogorov–Smirnov, Wasserstein) work on raw samples or on binned counts and
// are checked against SciPy. On top of them, a Profile freezes what drift needs from reference
// data (bin edges, category sets, moments, a fine quantile grid), a Histogram accumulates one
// window slot of live values against it (mergeable: Add, Merge, Reset; JSON-serialisable), and
// Compare turns a profile and a merged histogram into per-feature scores, p-values and verdicts
// with the default method chosen by feature type and reference size as Evidently chooses it.
//
// Nothing here keeps raw events: a window's cost depends on the number of bins, not on how many
// events it holds.
package drift
