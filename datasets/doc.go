// Package datasets provides benchmark examples: built-in generated families
// with exact answers and solvers, JSONL loaders and writers, splits, and
// answer metrics. Builtin generates a family's train, validation and test
// splits in one call; LoadFile and Split do the same for a file.
//
// # Families
//
// A Family generates examples from (n, seed, difficulty) and solves its own
// questions from their text alone (Solve never sees a label): the surrogate
// model in lm/sim calls the package-level Solve on the question it finds in
// a prompt, answers right with some probability and otherwise picks one of
// the Solution's distractors. Solution.Modes names the mistake behind each
// distractor, one of the Mode constants each family lists below. Example i
// of Generate(n, seed, d) has its own random stream seeded from (family,
// seed, d, i), so it does not depend on n; its ID is "<family>-<seed>-<i>";
// difficulty 0 cycles 1, 2, 3. No question contains a line starting with
// "#" (prompt section headers) or "Answer: ". The three built-in families
// write one layout each, which their solvers parse strictly: any sentence
// outside the layout makes Solve return ok == false.
//
// "arithmetic" (GSM8K-like) is one paragraph: a start sentence, 2..6 steps,
// a question. Difficulty 1 has 2 steps on values up to 100; 2 has 3..4
// steps (adding packs, fractions and a sale) up to 1000; 3 has 5..6 steps
// (adding percentages) up to 5000. Every step is exact and the answer is a
// non-negative integer. Sentences are separated by ". ":
//
//	Mara has 12 apples.  |  Mara starts the day with 12 apples.  |  Mara owns 12 apples.
//	She buys 5 more apples.  She finds 5 more apples.  Leo gives her 5 more apples.
//	She gives 4 apples to Leo.  She sells 4 apples.  She loses 4 apples.
//	She doubles her apples.  She triples her apples.
//	She collects more apples until she has 3 times as many as before.
//	She keeps only half of her apples.  She splits her apples equally into 4 bags and keeps one bag.
//	She sells 2/3 of her apples.  She gives away 25% of her apples.
//	She buys 3 packs of apples with 6 apples in each pack.
//	She sells all of her apples for $4 each.   (only as the last step)
//	How many apples does Mara have now?  |  ... have at the end?  |  How many dollars does Mara earn?
//
// Its Hardness is 1 + (steps-2)/2; its distractors are the answer without
// the last step (mode ModeLastStep, "last-step"), with the wrong operation
// on it (ModeOperation, "operation"), with an earlier step skipped
// (ModeSkippedStep, "skipped-step") or done with the wrong operation
// (ModeOperation), then near misses +1, -1, +2, ... (ModeSlip, "slip").
// The wrong operation adds for removes, adds for multiplies, multiplies for
// divides, and keeps the part instead of the rest of a fraction or
// percentage.
//
// "multihop" (HotpotQA-like) lists titled paragraphs of fictional facts,
// then a question that chains 2..4 relations (difficulty + 1) from a named
// entity; difficulty d adds 2d distractor paragraphs. RenderContext writes
// the same layout for loaded HotpotQA files:
//
//	Context:
//	[Orla Vantress] Orla Vantress works for Quorin Labs. Orla Vantress works as a pilot.
//	[Quorin Labs] Quorin Labs was founded by Idris Belford. Quorin Labs makes telescopes.
//	[Idris Belford] Idris Belford was born in Kelmora.
//	...
//
//	Question: In which city was the founder of the company that employs Orla Vantress born?
//
// Facts ("S ... O."): was born in (person→city), works for (person→company),
// is married to (person↔person), studied at (person→university), was
// founded by (company→person), is headquartered in (company→city), is a
// city in (city→country), "The mayor of S is O." (city→person), is located
// in (university→city); and facts that only type their subject: works as a,
// makes, is known for its, was established in. Questions: "In which city
// was X born?", "Which company does X work for?", "Who is X married to?",
// "At which university did X study?", "Who founded X?", "In which city is
// X headquartered?", "In which country is X?", "Who is the mayor of X?",
// "In which city is X located?", where X is a name or a nested phrase: "the
// city where X was born", "the company that employs X", "the spouse of X",
// "the university where X studied", "the founder of X", "the city where X
// is headquartered", "the mayor of X", "the city where X is located".
// Hardness is hops - 1; distractors are the chain's end with a hop skipped
// (ModeSkippedHop, "skipped-hop"), the chain's own entities of the
// answer's type (ModeStopEarly, "stopped-early"), the objects of the chain
// entities' other facts of that type, then other entities of that type
// (both ModeWrongFact, "wrong-fact"), then the chain's other entities
// (ModeStopEarly).
//
// "logic" is one paragraph: an introduction naming 4 + difficulty people,
// comparisons, and a question whose answer the comparisons fix (the full
// order may stay open):
//
//	Five friends, Ada, Bram, Cleo, Dov and Eli, compare their heights.
//	Ada is taller than Bram. Cleo is shorter than Bram. Eli is the shortest. ...
//	Who is the second tallest?
//
// The four domains are friends/heights (taller, shorter, tallest,
// shortest), cousins/ages (older, younger), runners/speeds ("runs faster
// than", "runs slower than", fastest, slowest) and merchants/fortunes
// (richer, poorer). Hardness is people - 4; distractors are the others,
// those who could stand nearest the asked position first: who could stand
// next to it in some order the comparisons allow (ModeNeighbour,
// "neighbour"), then those two or more places away (ModeMisread,
// "misread").
//
// # Files, splits and metrics
//
// WriteJSONL and ReadJSONL store Examples one JSON object per line and
// round-trip exactly; Read and LoadFile also take GSM8K and HotpotQA lines,
// and report a bad line as a *LineError ("datasets: data/x.jsonl:17:
// missing "answer""); the i-th example read is always line i+1. Split and
// SplitFractions deal a seeded shuffle into train, validation and test;
// Builtin generates a family's splits with no question shared between
// them. Normalize, ExactMatch, NumericMatch and TokenF1 score answers;
// MetricByName finds one by its config name.
package datasets
