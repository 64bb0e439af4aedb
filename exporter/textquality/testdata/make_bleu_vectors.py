#!/usr/bin/python3
"""Writes bleu-vectors.json: sentence and corpus BLEU-4 computed by NLTK (no smoothing, and
sentence BLEU with smoothing method2, Lin and Och's BLEU+1) on the examples of Papineni et al.
(2002) and NLTK's documentation, plus a few more. Run with Debian's
/usr/bin/python3 after `apt-get install python3-nltk`."""
import json
import nltk
from nltk.translate.bleu_score import sentence_bleu, corpus_bleu, modified_precision, SmoothingFunction
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
                  "bleu_smoothed": float(sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction().method2)),
                  "precisions": [float(modified_precision(refs, hyp, n)) for n in range(1, 5)]})
sent("papineni-candidate-1", h1, [r1, r2, r3])
sent("papineni-candidate-2", h2, [r1, r2, r3])
sent("the-the-the", "the the the the the the the".split(), ["the cat is on the mat".split(), "there is a cat on the mat".split()])
sent("short-candidate", "It is a guide to action".split(), [r1, r2, r3])
sent("identical", r1, [r1])
sent("short-answer", "paris".split(), ["the capital is paris".split()])
sent("no-overlap", "nothing in common".split(), ["entirely different words here".split()])
sent("chatbot-answer", "you can reset your password from the account settings page".split(),
     ["to reset your password open the account settings page and choose reset".split()])

corpus = {"candidates": [h1, h2, "It is a guide to action".split()],
          "references": [[r1, r2, r3], [r1, r2, r3], [r1, r2, r3]]}
corpus["bleu"] = float(corpus_bleu(corpus["references"], corpus["candidates"]))
# One lower-case reference per answer, the shape the exporter scores (output_text against
# reference_answer), for the PromQL corpus BLEU test of exporter/app.
low = lambda ws: [w.lower() for w in ws]
single = {"candidates": [low(h1), low(h2), "it is a guide to action".split(),
                         "you can reset your password from the account settings page".split()],
          "references": [[low(r1)], [low(r2)], [low(r3)],
                         ["to reset your password open the account settings page and choose reset".split()]]}
single["bleu"] = float(corpus_bleu(single["references"], single["candidates"]))
json.dump({"generator": "nltk " + nltk.__version__, "sentences": cases, "corpus": corpus,
           "corpus_single_reference": single},
          open("bleu-vectors.json", "w"), indent=1)
print([c["bleu"] for c in cases], corpus["bleu"])
