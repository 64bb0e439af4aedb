#!/usr/bin/python3
"""Writes bleu-vectors.json: sentence and corpus BLEU-4 computed by NLTK (no smoothing) on the
examples of Papineni et al. (2002) and NLTK's documentation, plus a few more. Run with Debian's
/usr/bin/python3 after `apt-get install python3-nltk`."""
import json
import nltk
from nltk.translate.bleu_score import sentence_bleu, corpus_bleu, modified_precision
from fractions import Fraction

h1 = "It is a guide to action which ensures that the military always obeys the commands of the party".split()
h2 = "It is to insure the troops forever hearing the activity guidebook that party direct".split()
r1 = "It is a guide to action that ensures that the military will forever heed Party commands".split()
r2 = "It is the guiding principle which guarantees the military forces always being under the command of the Party".split()
r3 = "It is the practical guide for the army always to heed the directions of the party".split()
cases = []
def sent(name, hyp, refs):
    cases.append({"name": name, "candidate": hyp, "references": refs,
                  "bleu": float(sentence_bleu(refs, hyp)),
                  "precisions": [float(modified_precision(refs, hyp, n)) for n in range(1, 5)]})
sent("papineni-candidate-1", h1, [r1, r2, r3])
sent("papineni-candidate-2", h2, [r1, r2, r3])
sent("the-the-the", "the the the the the the the".split(), ["the cat is on the mat".split(), "there is a cat on the mat".split()])
sent("short-candidate", "It is a guide to action".split(), [r1, r2, r3])
sent("identical", r1, [r1])

corpus = {"candidates": [h1, h2, "It is a guide to action".split()],
          "references": [[r1, r2, r3], [r1, r2, r3], [r1, r2, r3]]}
corpus["bleu"] = float(corpus_bleu(corpus["references"], corpus["candidates"]))
json.dump({"generator": "nltk " + nltk.__version__, "sentences": cases, "corpus": corpus},
          open("bleu-vectors.json", "w"), indent=1)
print([c["bleu"] for c in cases], corpus["bleu"])
