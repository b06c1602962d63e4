package analysis

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

var (
	reURL  = regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?)://[^\s'"<>()\x60,;|^{}\\]+`)
	reIPv4 = regexp.MustCompile(`(?:^|[^\w.])((?:\d{1,3}\.){3}\d{1,3})(?:[^\w.]|\.(?:[^\d]|$)|$)`)
)

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
		for _, u := range reURL.FindAllString(t, maxURLs) {
			u = strings.TrimRight(u, ".:'\"")
			st.addURL(u)
		}
		for _, m := range reIPv4.FindAllStringSubmatch(t, maxURLs) {
			st.addIP(m[1])
		}
	}
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
