package analysis

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

var reURL = regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?)://[^\s'"<>()\x60,;|^{}\\]+`)

// riskyDomains are hosting, paste, file-sharing and tunnelling services that
// serve attacker payloads far more often than business software does.
var riskyDomains = []string{"raw.githubusercontent.com", "gist.githubusercontent.com",
	"objects.githubusercontent.com", "pastebin.com", "paste.ee", "hastebin.com", "ghostbin.",
	"transfer.sh", "anonfiles.com", "uguu.se", "file.io", "ngrok.io", "ngrok-free.app", "ngrok.app",
	"trycloudflare.com", "cdn.discordapp.com", "media.discordapp.net", "mediafire.com", "mega.nz",
	"temp.sh", "0x0.st", "catbox.moe", "pastebin.pl", "rentry.co", "paste.c-net.org", "bashupload.com",
	"filebin.net", "gofile.io", "sendspace.com", "ufile.io", "portmap.io", "serveo.net", "localtunnel.me",
	"loca.lt", "duckdns.org", "no-ip.org", "ddns.net", "hopto.org", "zapto.org", "webhook.site",
	"pipedream.net", "requestbin", "interact.sh", "oast.", "burpcollaborator.net"}

// network extracts URLs and IPv4 addresses from the collected texts and tags
// URLs on risky services or with bare IP hosts.
func (st *state) network() {
	for _, t := range st.texts {
		// URLs: only around "://", so cost follows the number of URLs.
		for off, n := 0, 0; n < maxURLs; n++ {
			i := strings.Index(t[off:], "://")
			if i < 0 {
				break
			}
			i += off
			lo, hi := max(0, i-8), min(len(t), i+2048)
			if u := reURL.FindString(t[lo:hi]); u != "" {
				st.addURL(strings.TrimRight(u, ".:'\""))
			}
			off = i + 3
		}
		for _, ip := range scanIPv4(t, maxURLs) {
			st.addIP(ip)
		}
	}
}

// scanIPv4 finds dotted quads that stand alone (not part of a longer dotted
// version number such as 10.0.19041.1).
func scanIPv4(s string, limit int) []string {
	var out []string
	for i := 0; i < len(s) && len(out) < limit; {
		if s[i] < '0' || s[i] > '9' || (i > 0 && (isWordByte(s[i-1]) || s[i-1] == '.')) {
			i++
			continue
		}
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		cand := strings.TrimRight(s[i:j], ".")
		if strings.Count(cand, ".") == 3 && (j >= len(s) || !isWordByte(s[j])) && net.ParseIP(cand) != nil {
			out = append(out, cand)
		}
		i = j
	}
	return out
}

func (st *state) addURL(u string) {
	if st.seenURL[u] || len(st.res.URLs) >= maxURLs {
		return
	}
	st.seenURL[u] = true
	st.res.URLs = append(st.res.URLs, u)
	parsed, err := url.Parse(u)
	if err != nil {
		return
	}
	host := strings.ToLower(parsed.Hostname())
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			st.tag(tagURLDirectIP)
		}
		st.addIP(host)
		return
	}
	for _, d := range riskyDomains {
		if strings.HasSuffix(host, d) || strings.Contains(host, d) && strings.HasSuffix(d, ".") {
			st.tag(tagSuspiciousDomain)
			return
		}
	}
}

func (st *state) addIP(s string) {
	ip := net.ParseIP(s)
	if ip == nil || ip.To4() == nil || ip.IsUnspecified() || st.seenIP[s] || len(st.res.IPs) >= maxURLs {
		return
	}
	st.seenIP[s] = true
	st.res.IPs = append(st.res.IPs, s)
}
