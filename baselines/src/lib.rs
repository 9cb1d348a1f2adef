//! LN-LSTM baselines (issue 4).
