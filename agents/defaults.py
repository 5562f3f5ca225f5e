"""The model policies' default mixture weights, in a module light enough for the command
line to import (``agents.search_policies`` imports torch). Each was chosen on measurements
recorded in benchmarks/RESULTS.md."""

# kNN-LM mixture weight of the retrieval distribution (MetamathModelPolicy); measured on
# the demo's 50 theorems: 0 -> 23/50, 0.5 -> 30/50, 0.9 -> 30/50
DEFAULT_RETRIEVAL_WEIGHT = 0.5
# Coq: kNN-LM weight of the nearest training states' tactics in the model's proposals
# (ModelPolicy's retrieval). Measured on 40 held-out lemmas, budget 8: the tiny CPU model
# 4/40 alone, 10/40 with w = 0.5, as many as the k-NN alone; letting the two lists take
# turns for the slots instead proved 8/40
COQ_RETRIEVAL_WEIGHT = 0.5
# Mixture weight of the frequency policy's label distribution (MetamathModelPolicy, when it
# has the training label counts); measured 2026-12-04: set.mm test sample of 200, 27 -> 28;
# the demo's 50, 34 -> 35 (0.25: 34, 0.75: 33); no theorem lost
FREQUENCY_WEIGHT = 0.5

# The name of the policy server's Ray actor (agents.policy_server), which bench workers look up
POLICY_SERVER = "provergym-policy-server"
