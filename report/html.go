package report

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidPage is matched (errors.Is) by every error WriteHTML returns
// for a page it cannot write: a figure without an <svg> element, a row
// whose length differs from its table's header, a repeated or malformed id.
var ErrInvalidPage = errors.New("report: invalid page")

// Page is the HTML report: one self-contained page (inline SVG and CSS, no scripts or resources from the network).
type Page struct {
	// Title is the page's <title> and top heading; "" writes "Report".
	Title string
	// Subtitle is a line under the title, e.g. the store's path and when it
	// was written; "" none.
	Subtitle string
	// Tables are shown at the top, before the sections: the comparison
	// table(s); nil none.
	Tables []Table
	// Sections are one per experiment or study group, each a <section>
	// with an <h2> and an entry in the table of contents; nil none (and
	// no table of contents).
	Sections []Section
}

// Section is one titled part of the page.
type Section struct {
	// Heading is the section's heading and its entry in the table of
	// contents; its id is derived from it.
	Heading string
	// Text is paragraphs of plain text, escaped; nil none.
	Text []string
	// Tables follow the text; nil none.
	Tables []Table
	// Figures follow the tables; nil none.
	Figures []Figure
	// Sections are nested (e.g. a study's best team within an experiment),
	// rendered one heading level deeper (at most <h6>); nil none.
	Sections []Section
}

// Table is a <table class="table"> with a <caption>. Cells that read as
// numbers are right-aligned.
type Table struct {
	// Caption is the table's <caption>; "" an empty one.
	Caption string
	// Header is the column names; nil for a table without a header row,
	// whose rows must then all be as long as the first.
	Header []string
	// Rows are the body rows, each as long as Header.
	Rows [][]string
	// ID is the element id; "" derives one from the caption, made unique
	// on the page.
	ID string
}

// Figure is a <figure class="plot"> holding an inline SVG and its
// <figcaption>.
type Figure struct {
	// Caption is the <figcaption>; "" none.
	Caption string
	// SVG is an <svg> document as gonum/plot's vgsvg writes it. An XML
	// prolog, DOCTYPE and comments before the <svg tag are stripped; the
	// rest is inlined as trusted markup (scripts in it are nevertheless
	// blocked by the page's Content-Security-Policy).
	SVG []byte
	// ID is the element id; "" derives one from the caption, made unique
	// on the page.
	ID string
}

// WriteHTML writes the page to w: valid HTML5, UTF-8, a small inline stylesheet (readable tables, figures max-width 100%), a table of contents linking to the sections, every Table as <table> with <caption>, every Figure as <figure id=...><svg ...>...</svg><figcaption>. Text is escaped; SVG is inlined as trusted markup after stripping any XML prolog/DOCTYPE/comments before the <svg tag. A Figure whose SVG does not contain an <svg element is an error naming the figure. Rows shorter/longer than the header are an error naming the table and row.
//
// The page is checked in full before anything is written, so on an
// ErrInvalidPage error w is untouched.
func (p *Page) WriteHTML(w io.Writer) error {
	ids, err := reserveIDs(p)
	if err != nil {
		return err
	}
	v := pageView{Title: clean(p.Title), Subtitle: clean(p.Subtitle), CSS: template.CSS(pageCSS)}
	if v.Title == "" {
		v.Title = "Report"
	}
	if v.Tables, err = tableViews(p.Tables, ids); err != nil {
		return err
	}
	if v.Sections, err = sectionViews(p.Sections, 2, ids); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: writing the page: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// pageView and the views below are the page as the template reads it:
// text made valid UTF-8, ids assigned, cells classified, SVG trimmed.
type pageView struct {
	Title, Subtitle string
	CSS             template.CSS
	Tables          []tableView
	Sections        []sectionView
}

type sectionView struct {
	ID, Heading string
	Level       int // 2 to 6, the <hN> of the heading
	Text        []string
	Tables      []tableView
	Figures     []figureView
	Sections    []sectionView
}

type tableView struct {
	ID, Caption string
	Header      []cellView
	Rows        [][]cellView
}

type cellView struct {
	Text string
	Num  bool
}

type figureView struct {
	ID, Caption string
	SVG         template.HTML
}

func sectionViews(ss []Section, level int, ids *idSet) ([]sectionView, error) {
	var out []sectionView
	for _, s := range ss {
		v := sectionView{ID: ids.derive(s.Heading, "section"), Heading: clean(s.Heading), Level: min(level, 6)}
		for _, t := range s.Text {
			v.Text = append(v.Text, clean(t))
		}
		var err error
		if v.Tables, err = tableViews(s.Tables, ids); err != nil {
			return nil, err
		}
		for i, f := range s.Figures {
			name := f.Caption
			if name == "" {
				name = f.ID
			}
			if name == "" {
				name = fmt.Sprintf("#%d of section %q", i+1, s.Heading)
			}
			svg, err := inlineSVG(f.SVG)
			if err != nil {
				return nil, fmt.Errorf("%w: figure %q: %v", ErrInvalidPage, name, err)
			}
			id := f.ID
			if id == "" {
				id = ids.derive(f.Caption, "figure")
			}
			v.Figures = append(v.Figures, figureView{ID: id, Caption: clean(f.Caption), SVG: template.HTML(svg)})
		}
		if v.Sections, err = sectionViews(s.Sections, level+1, ids); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func tableViews(ts []Table, ids *idSet) ([]tableView, error) {
	var out []tableView
	for i, t := range ts {
		name := t.Caption
		if name == "" {
			name = t.ID
		}
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		width := len(t.Header)
		if width == 0 && len(t.Rows) > 0 {
			width = len(t.Rows[0])
		}
		numeric := make([]bool, width) // numeric[j]: every body cell of column j reads as a number
		for j := range numeric {
			numeric[j] = len(t.Rows) > 0
		}
		v := tableView{ID: t.ID, Caption: clean(t.Caption)}
		for r, row := range t.Rows {
			if len(row) != width {
				return nil, fmt.Errorf("%w: table %q: row %d has %d cells, want %d (the header's)", ErrInvalidPage, name, r+1, len(row), width)
			}
			cells := make([]cellView, len(row))
			for j, c := range row {
				cells[j] = cellView{Text: clean(c), Num: isNumeric(c)}
				numeric[j] = numeric[j] && cells[j].Num
			}
			v.Rows = append(v.Rows, cells)
		}
		for j, h := range t.Header {
			v.Header = append(v.Header, cellView{Text: clean(h), Num: numeric[j]})
		}
		if v.ID == "" {
			v.ID = ids.derive(t.Caption, "table")
		}
		out = append(out, v)
	}
	return out, nil
}

// isNumeric reports whether a table cell reads as a number, to right-align
// it: it parses as one (optionally with a trailing %), starts with a sign
// (+, - or the minus sign −) and a digit, as in "+0.047 [0.009, 0.086]",
// or is a number followed by an interval or error, as in "0.725 [0.69, 0.76]"
// or "0.73 ± 0.02".
func isNumeric(s string) bool {
	s = strings.TrimSpace(s)
	for _, sign := range []string{"+", "-", "−"} {
		if rest, ok := strings.CutPrefix(s, sign); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	isNum := func(f string) bool {
		_, err := strconv.ParseFloat(strings.TrimSuffix(f, "%"), 64)
		return err == nil
	}
	if isNum(s) {
		return true
	}
	first, rest, ok := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	return ok && isNum(first) && (strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, "(") || strings.HasPrefix(rest, "±"))
}

// inlineSVG returns the <svg>…</svg> element of an SVG document, without
// the byte-order mark, XML declaration, processing instructions, DOCTYPE,
// comments and white space that may precede it, or anything after it.
func inlineSVG(doc []byte) ([]byte, error) {
	s := bytes.TrimPrefix(doc, []byte("\uFEFF"))
	for {
		s = bytes.TrimLeft(s, " \t\r\n")
		var end []byte
		switch {
		case bytes.HasPrefix(s, []byte("<?")):
			end = []byte("?>")
		case bytes.HasPrefix(s, []byte("<!--")):
			end = []byte("-->")
		case len(s) >= 9 && strings.EqualFold(string(s[:9]), "<!DOCTYPE"):
			// The internal subset, if any, is in [ ]; the declaration ends at the > after it.
			i := bytes.IndexAny(s, "[>")
			if i >= 0 && s[i] == '[' {
				if j := bytes.IndexByte(s[i:], ']'); j < 0 {
					i = -1
				} else if k := bytes.IndexByte(s[i+j:], '>'); k < 0 {
					i = -1
				} else {
					i += j + k
				}
			}
			if i < 0 {
				return nil, errors.New("unterminated DOCTYPE before the <svg> element")
			}
			s = s[i+1:]
			continue
		}
		if end == nil {
			break
		}
		i := bytes.Index(s[2:], end)
		if i < 0 {
			return nil, fmt.Errorf("unterminated %s before the <svg> element", s[:min(len(s), 4)])
		}
		s = s[2+i+len(end):]
	}
	if !bytes.HasPrefix(s, []byte("<svg")) || len(s) < 5 || !strings.ContainsRune(" \t\r\n/>", rune(s[4])) {
		snippet := s[:min(len(s), 20)]
		if len(snippet) == 0 {
			return nil, errors.New("no <svg> element (empty)")
		}
		return nil, fmt.Errorf("no <svg> element after the prolog (it starts %q)", snippet)
	}
	if i := bytes.LastIndex(s, []byte("</svg>")); i >= 0 {
		return s[:i+len("</svg>")], nil
	}
	// Only a self-closing <svg .../> has no end tag.
	if i := bytes.IndexByte(s, '>'); i > 0 && s[i-1] == '/' {
		return s[:i+1], nil
	}
	return nil, errors.New("the <svg> element has no </svg> end tag")
}

// clean makes s valid UTF-8 for the page's charset.
func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// idSet hands out element ids unique on the page: the explicit ones first
// (reserveIDs), then ones derived from captions and headings.
type idSet struct {
	used map[string]bool
}

// reserveIDs collects the explicit Table and Figure ids of p, refusing
// repeats and ids that are not valid HTML ids (empty or with white space).
func reserveIDs(p *Page) (*idSet, error) {
	ids := &idSet{used: map[string]bool{}}
	add := func(kind, name, id string) error {
		if id == "" {
			return nil
		}
		if strings.IndexFunc(id, unicode.IsSpace) >= 0 || !utf8.ValidString(id) {
			return fmt.Errorf("%w: %s %q: id %q has white space or is not UTF-8", ErrInvalidPage, kind, name, id)
		}
		if ids.used[id] {
			return fmt.Errorf("%w: %s %q: id %q is used twice", ErrInvalidPage, kind, name, id)
		}
		ids.used[id] = true
		return nil
	}
	addTables := func(ts []Table) error {
		for _, t := range ts {
			if err := add("table", t.Caption, t.ID); err != nil {
				return err
			}
		}
		return nil
	}
	var walk func([]Section) error
	walk = func(ss []Section) error {
		for _, s := range ss {
			if err := addTables(s.Tables); err != nil {
				return err
			}
			for _, f := range s.Figures {
				if err := add("figure", f.Caption, f.ID); err != nil {
					return err
				}
			}
			if err := walk(s.Sections); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addTables(p.Tables); err != nil {
		return nil, err
	}
	return ids, walk(p.Sections)
}

// derive returns a new id from text: its letters and digits, lower-cased,
// other runs of characters as one "-", at most 48 runes; fallback if that
// is empty; then "-2", "-3", … until unused.
func (ids *idSet) derive(text, fallback string) string {
	var b strings.Builder
	n, dash := 0, false
	for _, r := range strings.ToLower(text) {
		if n == 48 {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
				n++
			}
			b.WriteRune(r)
			n++
			dash = false
		} else {
			dash = true
		}
	}
	base := b.String()
	if base == "" {
		base = fallback
	}
	id := base
	for i := 2; ids.used[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	ids.used[id] = true
	return id
}

// pageCSS is the whole stylesheet: system fonts, tables with ruled rows
// and right-aligned numbers, figures no wider than the page.
const pageCSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; line-height: 1.45;
  color: #1b1b1b; background: #fff; max-width: 100rem; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .5rem; padding-bottom: .2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
h4, h5, h6 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
p { margin: .5rem 0; max-width: 48rem; }
.subtitle { color: #555; margin: 0 0 1rem; }
nav.toc { background: #f6f7f9; border: 1px solid #e1e4e8; border-radius: 4px; padding: .5rem 1rem; margin: 1rem 0; display: inline-block; min-width: 16rem; }
nav.toc h2 { font-size: 1rem; margin: .25rem 0; padding: 0; border: 0; }
nav.toc ul { margin: .25rem 0; padding-left: 1.25rem; }
a { color: #0b57d0; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table.table { border-collapse: collapse; font-size: .85rem; }
table.table caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 .35rem; white-space: normal; max-width: 64rem; }
table.table th, table.table td { padding: .3rem .6rem; white-space: nowrap; border-bottom: 1px solid #e1e4e8; text-align: left; vertical-align: top; }
table.table thead th { border-bottom: 2px solid #8c959f; background: #f6f7f9; }
table.table tbody tr:nth-child(even) { background: #fafbfc; }
table.table .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure.plot { margin: 1.5rem 0; }
figure.plot svg { display: block; width: 100%; max-width: 56rem; height: auto; }
figure.plot figcaption { color: #444; font-size: .9rem; margin-top: .4rem; max-width: 48rem; }
`

// The Content-Security-Policy makes the page's self-containment a
// guarantee: no scripts run and nothing loads but inline styles and data:
// images and fonts (which vgsvg may embed).
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{- if .Subtitle}}
<p class="subtitle">{{.Subtitle}}</p>
{{- end}}
</header>
{{- if .Sections}}
<nav class="toc" aria-label="Contents">
<h2>Contents</h2>
{{template "toc" .Sections}}
</nav>
{{- end}}
<main>
{{- range .Tables}}
{{template "table" .}}
{{- end}}
{{- range .Sections}}
{{template "section" .}}
{{- end}}
</main>
</body>
</html>
{{define "toc"}}<ul>
{{- range .}}
<li><a href="#{{.ID}}">{{.Heading}}</a>{{if .Sections}}
{{template "toc" .Sections}}{{end}}</li>
{{- end}}
</ul>{{end}}
{{define "table"}}<div class="table-wrap">
<table id="{{.ID}}" class="table">
<caption>{{.Caption}}</caption>
{{- if .Header}}
<thead>
<tr>{{range .Header}}<th scope="col"{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr>
</thead>
{{- end}}
<tbody>
{{- range .Rows}}
<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
</div>{{end}}
{{define "section"}}<section id="{{.ID}}">
{{if eq .Level 2}}<h2>{{.Heading}}</h2>{{else if eq .Level 3}}<h3>{{.Heading}}</h3>{{else if eq .Level 4}}<h4>{{.Heading}}</h4>{{else if eq .Level 5}}<h5>{{.Heading}}</h5>{{else}}<h6>{{.Heading}}</h6>{{end}}
{{- range .Text}}
<p>{{.}}</p>
{{- end}}
{{- range .Tables}}
{{template "table" .}}
{{- end}}
{{- range .Figures}}
<figure id="{{.ID}}" class="plot">
{{.SVG}}
{{- if .Caption}}
<figcaption>{{.Caption}}</figcaption>
{{- end}}
</figure>
{{- end}}
{{- range .Sections}}
{{template "section" .}}
{{- end}}
</section>{{end}}
`))
