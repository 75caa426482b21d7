package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
)

// SendMail sends one plain-text message through the notifier's SMTP
// server, for other parts of civic that write to people (311 reporters
// hear of their request's status). It is one attempt, without the
// outbox's retries. Errors: no SMTP server configured, an address with a
// line break, and the server's refusals.
func (n *Notifier) SendMail(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to+subject+n.opts.SMTP.From, "\r\n") || !strings.Contains(to, "@") {
		return errors.New("alert: bad mail address or subject")
	}
	var id [12]byte
	rand.Read(id[:])
	host := "civic"
	if _, h, ok := strings.Cut(n.opts.SMTP.From, "@"); ok {
		host = h
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", n.opts.SMTP.From)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", n.opts.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return n.smtpSend(ctx, to, b.Bytes())
}
