#!/usr/bin/env python3
"""A synthetic text corpus whose loss curve is smooth: documents drawn from a
fixed random source (a topic-conditioned bigram chain over invented words).

Used by bench/train_fp8_gap.sh (CORPUS=markov) to measure the FP8 training loss
gap. On the Countdown corpus the final loss of two runs that differ by a 5e-5
change of the init std already differs by ~3 % (the model picks up arithmetic
skills at chaotic moments), which hides a 0.5 % effect; here learning is
counting statistics, so the run-to-run noise is far smaller.

The source: W invented words (2-7 letters) with Zipf-like frequencies; each
document picks one of TOPICS topics; each word has SHARED successors common to
all topics and TOPIC_SUCC more that depend on the topic, with random weights.
A model that reads the context can infer the topic (attention has work to do).
Sentences end with '.' with probability 1/12. Deterministic for a given --seed
(Python's random.Random is stable across versions for these calls).

  bench/markov_corpus.py --docs 3000 --seed 1 -o corpus.jsonl --text-out corpus.txt
"""
import argparse
import json
import random
import string

WORDS = 800
TOPICS = 8
SHARED = 8
TOPIC_SUCC = 8


def make_source(rng):
    words = set()
    while len(words) < WORDS:
        n = rng.randint(2, 7)
        words.add("".join(rng.choice(string.ascii_lowercase) for _ in range(n)))
    words = sorted(words)
    rng.shuffle(words)
    zipf = [1.0 / (i + 1) for i in range(WORDS)]

    def draw_successors(k):
        return [rng.choices(range(WORDS), weights=zipf)[0] for _ in range(k)]

    # succ[t][w] = (successor ids, weights)
    shared = [draw_successors(SHARED) for _ in range(WORDS)]
    succ = []
    for _ in range(TOPICS):
        table = []
        for w in range(WORDS):
            ids = shared[w] + draw_successors(TOPIC_SUCC)
            weights = [rng.expovariate(1.0) for _ in ids]
            table.append((ids, weights))
        succ.append(table)
    return words, zipf, succ


def make_document(rng, words, zipf, succ):
    topic = rng.randrange(TOPICS)
    n = rng.randint(60, 200)
    w = rng.choices(range(WORDS), weights=zipf)[0]
    out, sentence = [], [words[w].capitalize()]
    for _ in range(n - 1):
        if rng.random() < 1.0 / 12:
            out.append(" ".join(sentence) + ".")
            w = rng.choices(range(WORDS), weights=zipf)[0]
            sentence = [words[w].capitalize()]
            continue
        ids, weights = succ[topic][w]
        w = rng.choices(ids, weights=weights)[0]
        sentence.append(words[w])
    out.append(" ".join(sentence) + ".")
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", required=True, help="JSONL, one {\"text\": ...} per document")
    ap.add_argument("--text-out", help="the same documents as plain text, for tokenizer training")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    words, zipf, succ = make_source(rng)
    docs = [make_document(rng, words, zipf, succ) for _ in range(a.docs)]
    with open(a.out, "w") as f:
        for d in docs:
            f.write(json.dumps({"text": d}) + "\n")
    if a.text_out:
        with open(a.text_out, "w") as f:
            f.write("\n".join(docs) + "\n")


if __name__ == "__main__":
    main()
