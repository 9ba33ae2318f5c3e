"""The quality benchmark's experiment suites: name -> the settings each experiment changes.

Suites share run directories by experiment name (default, distill-sw0.8, ...), so a name
means the same settings in every suite that lists it. Experiments named distill* are
students of --teacher (`emotag distill`); the others train the plain BiLSTM. Suites:
- default: the default configuration of train_biLSTM.py (its report also compares
  per-class with one global threshold, and its per-class F1 with the GoEmotions paper's);
- embeddings: every offline embedding source (random ones trained, the others frozen);
- pooling: attention vs masked mean / max pooling;
- loss: class-balanced focal vs plain BCE;
- distill: students of --teacher RUN (emotag distill) with an augmented transfer set,
  on the training texts only, and at 128 units, beside the undistilled default and the
  teachers' own rows; e.g. `--suite distill --teacher artifacts/ens --report-name
  distillation` (--set also takes the student's flags, e.g. temperature=2.0; what an
  experiment sets itself, such as the 0.5 soft weight these were measured at, wins).
- distill-mix: train-only students of --teacher at soft weights 0.2, 0.5, 0.8 and 1.0,
  for choosing the loss mix on dev (`--report-name distill_mix`).
- distill-sw0.8: students at the chosen soft weight 0.8, at 192 and 128 units, with the
  transfer set and on the training texts only (`--report-name distillation_sw0.8`).
- distill-cf: the distill-sw0.8 students with out-of-fold soft targets on the training
  texts, from --cross-fit-teacher runs (trained with --exclude-ids; `emotag distill
  --cross-fit-teacher`), at 192 and 128 units and on the training texts only
  (`--report-name distillation_cf`).
- distill-ema, distill-aug2: the distill-sw0.8 student with --weight-averaging 1, and
  with two augmented copies of train (`--report-name distillation_ema` / `_aug2`).
- distill-student: the distill-sw0.8 student with dropout 0.2, with the open vocabulary,
  with trainable word vectors and at temperature 2 (`--report-name distillation_student`).
- stack: minilm-static and wordllama vectors stacked (`--embeddings
  minilm-static+wordllama`), undistilled and as 192- and 128-unit students, beside the
  default and the recommended student (`--report-name stack`).
- distill-loss: the distill-sw0.8 student with class-balanced weights on the soft term
  (--soft-class-beta 0.99 and 0.999) and with squared error on logits as the soft term
  (--soft-loss mse) (`--report-name distillation_loss`).
- encoder: students reading word vectors pooled from the teacher's fine-tuned MiniLM
  beside minilm-static (the README's recommended and fast students, 192 and 128 units),
  beside the earlier recipes' students (`--report-name encoder`; seeds 0-5 of the two
  adopted students: `--report-name distill_seeds`).
- distill-arch: the recommended student with masked max pooling, and with a 256-unit
  ReLU layer before the output (`--report-name distill_arch`).
- distill-schedule: the recommended student with Adam's rate halved after each epoch
  without a new best dev macro-F1 (`--report-name distill_schedule`).
- distill-aug2-enc: the fast student with two augmented copies of train instead of one
  (`--report-name distill_aug2_enc`).
- distill-labelatt: the recommended and fast students with label attention, a query
  and a pooled vector per label (`--report-name distill_labelatt`).
"""

from __future__ import annotations

OFFLINE_EMBEDDINGS = ("minilm", "minilm-static", "wordllama", "fasttext", "word2vec", "random")
STACK = "minilm-static+wordllama"  # the stacked source of the stack suite
# The encoder suite's stack: minilm-static beside word vectors pooled from the teacher's
# fine-tuned MiniLM (the README recipe's run) over the training texts.
ENCODER_STACK = "minilm-static+encoder:artifacts/minilm"
# The recommended student (README): 1x transfer set, soft weight 0.8, the encoder stack.
ENCODER_STUDENT = {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": ENCODER_STACK}
# The fast student (README): the same at 128 units. Suites sharing its runs use this one
# dict, so the shared run directories always hold the same configuration.
FAST_STUDENT = {**ENCODER_STUDENT, "lstm_units": 128}

SUITES: dict[str, list[tuple[str, dict]]] = {
    "default": [("default", {})],
    # Random vectors are trained (frozen random rows would carry no information).
    "embeddings": [
        (f"emb-{name}", {"embeddings": name, "trainable_embeddings": name == "random"})
        for name in OFFLINE_EMBEDDINGS
    ],
    "pooling": [("pool-mean", {"pooling": "mean"}), ("pool-max", {"pooling": "max"})],
    "loss": [("loss-bce", {"loss": "bce"})],
    # Students of --teacher (emotag distill), beside the undistilled default: with an
    # augmented transfer set (1 copy of train), on the training texts only, at 128 units.
    # Measured at soft weight 0.5, the default before distill-mix chose 0.8.
    "distill": [
        ("default", {}),
        ("distill", {"augment_multiple": 1, "soft_weight": 0.5}),
        ("distill-train-only", {"augment_multiple": 0, "soft_weight": 0.5}),
        ("distill-u128", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.5}),
    ],
    # The loss mix (--soft-weight) chosen on dev: train-only students (the cheapest, whose
    # labels one teacher pass caches) at soft weights around 0.5, the first default; 0 is
    # the undistilled default; 1.0 drops the gold term, as Tang et al. (2019) did.
    "distill-mix": [
        ("default", {}),
        *(
            (
                f"distill-train-only{'' if w == 0.5 else f'-sw{w}'}",
                {"augment_multiple": 0, "soft_weight": w},
            )
            for w in (0.2, 0.5, 0.8, 1.0)
        ),
    ],
    # Students at the chosen 0.8: 192 and 128 units (the fast one), each with
    # the 1x augmented transfer set and on the training texts only (the transfer-set
    # ablation). distill-train-only-sw0.8 is the distill-mix suite's run, shared.
    "distill-sw0.8": [
        ("default", {}),
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
        (
            "distill-u128-train-only-sw0.8",
            {"augment_multiple": 0, "lstm_units": 128, "soft_weight": 0.8},
        ),
    ],
    # The distill-sw0.8 students, their training texts' soft targets out of fold
    # (--cross-fit-teacher): does a teacher that did not see a text teach more on it?
    "distill-cf": [
        ("default", {}),
        ("distill-cf-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-cf-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-cf-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
    ],
    # The distill-sw0.8 students (shared runs) beside the same students whose weights are
    # averaged over about the last epoch (--weight-averaging 1): does Polyak averaging
    # close part of the gap to the teacher? (Seed 0: no; README.)
    "distill-ema": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-ema-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "weight_averaging": 1.0}),
        (
            "distill-ema-train-only-sw0.8",
            {"augment_multiple": 0, "soft_weight": 0.8, "weight_averaging": 1.0},
        ),
    ],
    # A transfer set of two augmented copies of train instead of one (Tang et al. and
    # Mukherjee & Awadallah found larger transfer sets teach more).
    "distill-aug2": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-aug2-sw0.8", {"augment_multiple": 2, "soft_weight": 0.8}),
    ],
    # The student's own knobs, which --search chose for the plain BiLSTM on gold labels:
    # less dropout (soft targets already regularise; Hinton et al., 2015), the open
    # vocabulary (frozen vectors for words train never had, which the augmented copies'
    # neighbour substitution then draws from), fine-tuned word vectors (frozen won on 43k
    # gold-labelled texts; the transfer set doubles the texts, all soft-labelled), and
    # the soft term at temperature 2 (Hinton et al.: weighs the teacher's small
    # probabilities more; for sigmoids it moves BCE towards squared error on logits).
    "distill-student": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-do0.2-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "dropout": 0.2}),
        ("distill-open-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "vocabulary": "open"}),
        (
            "distill-ft-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "trainable_embeddings": True},
        ),
        ("distill-temp2-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "temperature": 2.0}),
    ],
    # Stacked word vectors (minilm-static beside wordllama, each word's two vectors side by
    # side): more lexical information in at no serving cost, since the serving model folds
    # the embedding into the LSTM's input projection. Undistilled and as students.
    "stack": [
        ("default", {}),
        ("emb-stack", {"embeddings": STACK}),
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-stack-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK}),
        ("distill-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
        (
            "distill-stack-u128-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK, "lstm_units": 128},
        ),
    ],
    # The soft term's form. Its classes weighted as a class-balanced loss weighs them
    # (--soft-class-beta; Cui et al., 2019): the soft term is 0.8 of the loss and weighs
    # every class alike, while macro-F1 counts a rare class as much as a frequent one.
    # 0.99 is the gold loss's beta (only the five rarest classes weigh more); 0.999 spans
    # 0.38 (neutral) to 5.2 (grief) on GoEmotions. And squared error between logits
    # (--soft-loss mse), Tang et al.'s (2019) soft term, in place of cross-entropy.
    "distill-loss": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        *(
            (
                f"distill-scb{b}-sw0.8",
                {"augment_multiple": 1, "soft_weight": 0.8, "soft_class_beta": b},
            )
            for b in (0.99, 0.999)
        ),
        ("distill-mse-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "soft_loss": "mse"}),
    ],
    # Word vectors from the teacher's own encoder: each training word's final-layer states
    # in the fine-tuned MiniLM, averaged over its occurrences in the training texts
    # (Bommasani et al., 2020, pool contextual states into static vectors), stacked beside
    # minilm-static. What the encoder learned about emotions enters the embedding layer,
    # which costs no serving time. Beside the stack suite's students of the same teacher.
    "encoder": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        (
            "distill-stack-u128-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK, "lstm_units": 128},
        ),
        ("distill-enc-u128-sw0.8", FAST_STUDENT),
    ],
    # The student's architecture at no serving cost to speak of, beside the encoder suite's
    # recommended students (shared runs): masked max pooling in place of attention
    # (undistilled, 0.003 ahead on dev and a tie on test: the pooling suite; attention
    # stayed for the explanations its weights give), and a ReLU layer between the pooled
    # vector and the output, as in Tang et al.'s (2019) distilled BiLSTM, which runs once
    # per text, not per token.
    "distill-arch": [
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        ("distill-enc-max-sw0.8", {**ENCODER_STUDENT, "pooling": "max"}),
        ("distill-enc-head256-sw0.8", {**ENCODER_STUDENT, "head_units": 256}),
    ],
    # The student's schedule, beside the recommended students (shared runs): Adam's rate
    # halved after each epoch without a new best dev macro-F1 (--lr-drop 0.5), so the
    # epochs after a plateau take smaller steps (the weights go on from where they are).
    "distill-schedule": [
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        ("distill-enc-lrd0.5-sw0.8", {**ENCODER_STUDENT, "lr_drop": 0.5}),
    ],
    # The transfer set's size again, now that the student reads the teacher's encoder
    # vectors: two augmented copies of train instead of one (the distill-aug2 suite tied
    # on seeds 0-1 with minilm-static alone; Tang et al., 2019, and Mukherjee & Awadallah,
    # 2020, found larger transfer sets teach more). At 128 units, where a run is cheapest;
    # beside the encoder suite's fast students (shared runs).
    "distill-aug2-enc": [
        ("distill-enc-u128-sw0.8", FAST_STUDENT),
        ("distill-enc-u128-aug2-sw0.8", {**FAST_STUDENT, "augment_multiple": 2}),
    ],
    # Label attention (Mullenbach et al., 2018; Xiao et al., 2019): one attention query
    # per label over the BiLSTM states instead of one for all, so a rare emotion can pool
    # the words that signal it; each label's output reads its own pooled vector. It adds
    # (labels x 2 * units) weights and no per-token recurrence, beside the recommended
    # and fast students (shared runs).
    "distill-labelatt": [
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        ("distill-enc-labelatt-sw0.8", {**ENCODER_STUDENT, "pooling": "label-attention"}),
        ("distill-enc-u128-sw0.8", FAST_STUDENT),
        ("distill-enc-u128-labelatt-sw0.8", {**FAST_STUDENT, "pooling": "label-attention"}),
    ],
}
