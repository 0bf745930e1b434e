package main

import (
	"fmt"
	"math"
	"strings"
)

type seriesData struct {
	name                  string
	rpc, ratio, p99, fair []float64
}

var palette = []string{"#999999", "#e6550d", "#fdae6b", "#31a354", "#756bb1", "#9e9ac8", "#636363", "#3182bd", "#08519c"}

// pw and ph are a panel's width and height, in pixels.
const pw, ph = 380, 300

// chart draws four panels (requests per commit, wall / serial bound, p99
// per update, fairness) against the writer count, on log scales, one line
// per strategy.
func chart(writers []int, series []seriesData) string {
	const left, top0, gap, vgap = 60, 40, 90, 80
	width, height := left+2*pw+gap+40, top0+2*ph+vgap+60+18*((len(series)+1)/2)
	c := &svgChart{writers: writers, series: series}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&c.b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	top2 := top0 + ph + vgap
	c.panel(left, top0, "Requests per commit (lower is better)", func(s seriesData) []float64 { return s.rpc }, 3, "goal ≤ 3")
	c.panel(left+pw+gap, top0, "Wall time / serial bound (lower is better)", func(s seriesData) []float64 { return s.ratio }, 2.5, "goal ≤ 2.5")
	c.panel(left, top2, "p99 latency per update, ms (lower is better)", func(s seriesData) []float64 { return s.p99 }, 0, "")
	c.panel(left+pw+gap, top2, "Fairness: slowest writer's mean / fastest's", func(s seriesData) []float64 { return s.fair }, 0, "")
	for i, s := range series {
		lx, ly := left+(i%2)*(pw+gap), top2+ph+40+18*(i/2)
		fmt.Fprintf(&c.b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			lx, lx+24, ly-4, ly-4, palette[i%len(palette)], lx+30, ly, s.name)
	}
	c.b.WriteString("</svg>\n")
	return c.b.String()
}

// svgChart is a chart being drawn: the SVG so far, the writer counts of the
// x axis and the series.
type svgChart struct {
	b       strings.Builder
	writers []int
	series  []seriesData
}

// panel draws the panel whose top left corner is (x0, top): a line per
// series of the values get picks, on a log scale, and when goal > 0 a dashed
// line at goal labelled goalText.
func (c *svgChart) panel(x0, top int, title string, get func(seriesData) []float64, goal float64, goalText string) {
	lo, hi := c.logRange(get, goal)
	y := func(v float64) float64 {
		v = math.Max(v, lo)
		return float64(top+ph) - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*ph
	}
	x := func(i int) float64 { return float64(x0) + float64(i)*pw/float64(max(len(c.writers)-1, 1)) }
	fmt.Fprintf(&c.b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, top-15, title)
	fmt.Fprintf(&c.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`+"\n", x0, top, pw, ph)
	for d := lo; d <= hi*1.001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v > hi*1.001 {
				break
			}
			fmt.Fprintf(&c.b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
				x0, x0+pw, y(v), y(v), x0-5, y(v)+4, v)
		}
	}
	for i, w := range c.writers {
		fmt.Fprintf(&c.b, `<text x="%.1f" y="%d" text-anchor="middle">W=%d</text>`+"\n", x(i), top+ph+16, w)
	}
	if goal > 0 {
		fmt.Fprintf(&c.b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d62728" stroke-dasharray="6,4"/><text x="%d" y="%.1f" fill="#d62728" text-anchor="end">%s</text>`+"\n",
			x0, x0+pw, y(goal), y(goal), x0+pw-4, y(goal)-4, goalText)
	}
	for si, s := range c.series {
		var pts []string
		for i, v := range get(s) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		wdt := 1.5
		if strings.HasPrefix(s.name, "ifmatch") {
			wdt = 3.5
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%.1f"/>`+"\n", strings.Join(pts, " "), palette[si%len(palette)], wdt)
	}
}

// logRange is a panel's y range: the powers of ten around the positive
// values get picks and, when goal > 0, around goal/2 to goal*2.
func (c *svgChart) logRange(get func(seriesData) []float64, goal float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, v := range get(s) {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if goal > 0 {
		lo, hi = math.Min(lo, goal/2), math.Max(hi, goal*2)
	}
	return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
}
