package evaluation

import (
	"context"
	"strings"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/team"
)

// RecordCalls keeps every call with its request, its parsed answer scored
// against the gold answer, and the example's family; a reply without the
// answer format counts as unparsed for its agent, and the model's retries
// add up, whichever the number of workers.
func TestRecordCalls(t *testing.T) {
	// "good" answers in the format after one retry; "loose" ignores the
	// format on odd questions.
	model := lm.ModelFunc(func(ctx context.Context, req lm.Request) (lm.Response, error) {
		r, err := fakeModel(ctx, req)
		if err != nil {
			return r, err
		}
		sys := req.Messages[0].Content
		switch {
		case strings.Contains(sys, "good"):
			r.Retries = 1
		case strings.Contains(sys, "loose") && isQ1(req.Messages):
			r.Text = "I think it is probably 1."
		}
		return r, nil
	})
	tm, err := team.New(team.Spec{Agents: []team.AgentSpec{{ID: "good", Model: "m", Temperature: 0.3}, {ID: "loose", Model: "m2"}}}, model, nil)
	if err != nil {
		t.Fatal(err)
	}
	exs := examples(4)
	for i := range exs {
		exs[i].Family, exs[i].Difficulty = "arithmetic", 1+i%3
	}
	for _, workers := range []int{1, 3} {
		r, err := Evaluate(context.Background(), tm, exs, nil, &Options{Workers: workers, RecordCalls: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.CallRecords) != 8 || r.Retries != 4 || r.Unparsed != 1 {
			t.Fatalf("workers %d: %d records, %d retries, %d unparsed; want 8, 4, 1", workers, len(r.CallRecords), r.Retries, r.Unparsed)
		}
		for k, c := range r.CallRecords {
			ex := exs[k/2]
			if c.Example != k/2 || c.ExampleID != ex.ID || c.Family != "arithmetic" || c.Difficulty != ex.Difficulty ||
				len(c.Messages) != 2 || !strings.Contains(c.Messages[1].Content, ex.Question) {
				t.Errorf("record %d = %+v", k, c)
			}
			wantScore := datasets.ExactMatch(c.Answer, ex.Answer)
			if c.Score != wantScore {
				t.Errorf("record %d scored %v, want %v", k, c.Score, wantScore)
			}
			if c.Agent == "good" && (c.Retries != 1 || c.Temperature != 0.3 || c.Model != "m" || c.Unparsed) {
				t.Errorf("good's record %+v", c)
			}
			if c.Agent == "loose" && c.Unparsed != (k/2 == 1) {
				t.Errorf("loose's record %d unparsed = %v", k, c.Unparsed)
			}
		}
		if a := r.Agents[1]; a.Agent != "loose" || a.Unparsed != 1 || r.Agents[0].Unparsed != 0 {
			t.Errorf("agents %+v", r.Agents)
		}
	}
	r, err := Evaluate(context.Background(), tm, exs, nil, nil)
	if err != nil || r.CallRecords != nil || r.Unparsed != 1 {
		t.Errorf("without RecordCalls: %d records (want none), %d unparsed, err %v", len(r.CallRecords), r.Unparsed, err)
	}
}

func isQ1(msgs []lm.Message) bool {
	p, err := prompt.Parse(msgs)
	return err == nil && p.Question == "q1"
}
