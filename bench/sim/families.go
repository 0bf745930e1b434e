package main

import "fmt"

// baselines are the real grid's strategies, modelled.
func baselines() []Strategy {
	return []Strategy{
		{"no backoff", noBackoff},
		{"full jitter (5ms, cap 1s)", fullJitter},
		{"decorrelated jitter (5ms, cap 1s)", decorrelated},
		{"ifmatch default", ifmatchDefault},
	}
}

// families are the designs swept, by family: every configuration measured.
var families = map[string]func() []Strategy{
	"yield": func() []Strategy { // the default with a blind yield and shorter waits
		var ss []Strategy
		for _, y := range []us{0, 50, 100, 200} {
			for _, h := range []int{0, 2, 3} {
				for _, g := range [][2]us{{0, 0}, {2, 16}, {2, 32}, {4, 64}} {
					for _, stale := range []bool{false, true} {
						k := fk{yield: y, halveFrom: h, growth: g[0], capRTT: g[1], staleBackoff: stale}
						ss = append(ss, Strategy{fmt.Sprintf("yield %d%% halve%d g%d cap%d stale-backoff=%v", y, h, g[0], g[1], stale), ifmatchWith(k)})
					}
				}
			}
		}
		return ss
	},
	"aging": func() []Strategy {
		var ss []Strategy
		for _, p := range []float64{1, 2, 3} {
			for _, a0 := range []float64{0.01, 0.05, 0.2} {
				for _, dn := range []float64{0.5, 0.7, 0.85} {
					for _, up := range []float64{1.1, 1.3} {
						for _, def := range []bool{false, true} {
							for _, fl := range []us{0, 50, 100} {
								k := ak{yield: 100, first: a0, down: dn, up: up, power: p, deferNew: def, floorPct: fl}
								ss = append(ss, Strategy{fmt.Sprintf("aging p%.0f first%.2f down%.2f up%.1f defer=%v floor%d", p, a0, dn, up, def, fl), aging(k)})
							}
						}
					}
				}
			}
		}
		return ss
	},
	"fair": func() []Strategy { // ifmatch's Fair, and its floor
		var ss []Strategy
		for _, fl := range []us{0, 50} {
			for _, m := range []float64{0, 1e-6, 1e-4} {
				k := ak{yield: 100, first: 0.05, down: 0.85, up: 1.1, power: 3, deferNew: true, floorPct: fl, minAlpha: m}
				ss = append(ss, Strategy{fmt.Sprintf("Fair, floor %d%% RTT, alpha >= %g", fl, m), aging(k)})
			}
		}
		for _, y := range []us{100, 50, 25, 0} {
			k := ak{yield: y, first: 0.05, down: 0.85, up: 1.1, power: 3, deferNew: true, minAlpha: 1e-6, idleReset: true}
			ss = append(ss, Strategy{fmt.Sprintf("Fair, alpha >= 1e-6, forgotten when a deferral sees no other write, yield %d%%", y), aging(k)})
		}
		for _, up := range []float64{1.5, 2, 4} {
			k := ak{yield: 100, first: 0.05, down: 0.85, up: 1.1, power: 3, deferNew: true, minAlpha: 1e-6, upFree: up}
			ss = append(ss, Strategy{fmt.Sprintf("Fair, alpha >= 1e-6, ×%g per success without waiting", up), aging(k)})
		}
		return ss
	},
	"rest": func() []Strategy {
		var ss []Strategy
		for _, m := range []us{50, 100} {
			for _, cp := range []us{8, 16, 64} {
				for _, fr := range []bool{false, true} {
					k := rk{yield: 100, restPct: m, growth: 2, capRTT: cp, freshAfterRest: fr}
					ss = append(ss, Strategy{fmt.Sprintf("rest %d%% cap%d fresh=%v", m, cp, fr), rest(k)})
				}
			}
		}
		return ss
	},
	"turns": func() []Strategy {
		var ss []Strategy
		for _, l := range []int{0, 1, 3} {
			for _, cp := range []us{16, 64} {
				for _, rs := range []bool{false, true} {
					for _, late := range []us{0, 25, 50} {
						k := tk{yield: 100, listens: l, capRTT: cp, reslot: rs, lateTC: late}
						ss = append(ss, Strategy{fmt.Sprintf("turns listens%d cap%d reslot=%v late%d", l, cp, rs, late), turns(k)})
					}
				}
			}
		}
		return ss
	},
}
