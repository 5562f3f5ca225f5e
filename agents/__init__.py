"""Models, training and evaluation for provergym (GPT-f style: one model, two prompts).

- ``tasks``: corpus record / ProofState -> (goal text, action, value label), per task;
- ``tokenizer``: word-level (Metamath) and byte-level BPE (Coq, rewrite) tokenizers;
- ``model``: Llama-style decoder sizes ``tiny``, ``small`` (~25M), ``base`` (~105M);
- ``train``: the accelerate loop, atomic checkpoints, ``--resume``;
- ``policy``: ``Policy.load(dir)``, ``propose(goal, n)``, ``value(goal)``, ``classify``;
- ``baselines``: most frequent, TF-IDF k-NN, linear SVM;
- ``evaluate``: exact match, value calibration, GamePad's tasks, environment hooks;
- ``synthetic``: small corpora in the same schemas, for tests and benchmarks;
- ``cli``: ``provergym train`` and ``provergym eval``;
- ``search_policies``: the model-backed policies of ``provergym.search``.

Imports point one way, each module above the ones it imports:
``tasks`` < ``tokenizer``, ``model``, ``baselines`` < ``retrieval`` < ``train`` < ``policy``
< ``evaluate`` < ``cli``, and ``policy`` < ``search_policies``. torch, transformers and
accelerate are imported inside the functions that use them (they take seconds), so reading
configs and corpora stays cheap.
"""
