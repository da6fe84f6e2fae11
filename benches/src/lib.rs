//! Shared helpers for framemix benchmarks (filled by the performance issue).
