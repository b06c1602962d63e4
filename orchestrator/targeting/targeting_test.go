package targeting

import "testing"

func TestMatches(t *testing.T) {
	win := Host{ID: 1, Hostname: "WIN-1", Identifier: "uuid-w1", Platform: "windows"}
	lin := Host{ID: 2, Hostname: "web1", Identifier: "uuid-l2", Platform: "linux"}
	mac := Host{ID: 3, Hostname: "mac", Identifier: "uuid-m3", Platform: "darwin"}
	bsd := Host{ID: 4, Hostname: "bsd", Platform: "freebsd"}
	unknown := Host{ID: 5, Hostname: "odd", Platform: ""}
	hosts := []Host{win, lin, mac, bsd, unknown}
	for _, tc := range []struct {
		name string
		t    Targets
		want []int64
	}{
		{"nothing", Targets{}, nil},
		{"all", Targets{All: true}, []int64{1, 2, 3, 4, 5}},
		{"all wins over the rest", Targets{All: true, HostIDs: []int64{9}}, []int64{1, 2, 3, 4, 5}},
		{"host ids", Targets{HostIDs: []int64{2, 5, 99}}, []int64{2, 5}},
		{"hostname ignores case", Targets{Hostnames: []string{"win-1"}}, []int64{1}},
		{"host identifier", Targets{Hostnames: []string{"UUID-L2"}}, []int64{2}},
		{"blank hostname selects nothing", Targets{Hostnames: []string{" "}}, nil},
		{"family", Targets{Platforms: []string{"windows"}}, []int64{1}},
		{"family ignores case", Targets{Platforms: []string{"Windows"}}, []int64{1}},
		{"posix", Targets{Platforms: []string{"posix"}}, []int64{2, 3, 4}},
		{"osquery distribution names mean linux", Targets{Platforms: []string{"ubuntu"}}, []int64{2}},
		{"comma list in one entry", Targets{Platforms: []string{"windows,darwin"}}, []int64{1, 3}},
		{"any covers unknown families", Targets{Platforms: []string{"any"}}, []int64{1, 2, 3, 4, 5}},
		{"blank platform selects nothing", Targets{Platforms: []string{""}}, nil},
		{"union", Targets{Platforms: []string{"darwin"}, HostIDs: []int64{1}, Hostnames: []string{"bsd"}}, []int64{1, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.t.Matcher()
			var got []int64
			for _, h := range hosts {
				if m.Matches(h) != tc.t.Matches(h) {
					t.Fatalf("Matcher and Targets.Matches disagree on host %d", h.ID)
				}
				if m.Matches(h) {
					got = append(got, h.ID)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got hosts %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got hosts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestPlatformMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, family string
		want           bool
	}{
		{"", "windows", true},
		{"", "", true},
		{"all", "", true},
		{"any", "linux", true},
		{"windows", "windows", true},
		{"windows", "linux", false},
		{"windows", "", false},
		{"posix", "linux", true},
		{"posix", "darwin", true},
		{"posix", "freebsd", true},
		{"posix", "windows", false},
		{"posix", "", false},
		{"centos", "linux", true},
		{"linux, darwin", "darwin", true},
		{" WINDOWS ", "windows", true},
	} {
		if got := PlatformMatches(tc.filter, tc.family); got != tc.want {
			t.Errorf("PlatformMatches(%q, %q) = %v, want %v", tc.filter, tc.family, got, tc.want)
		}
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		t    Targets
		want string
	}{
		{Targets{All: true, Platforms: []string{"windows"}}, "all hosts"},
		{Targets{Platforms: []string{"windows"}, HostIDs: []int64{3}, Hostnames: []string{"web1"}}, "windows, host 3, web1"},
		{Targets{}, ""},
	} {
		if got := tc.t.Words(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.t, got, tc.want)
		}
	}
}
