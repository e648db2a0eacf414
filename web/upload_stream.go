package web

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/web/i18n"
)

// uploadLimit caps one uploaded file, as the API's import does (api.maxImportBytes).
const uploadLimit = 1 << 30

// maxFieldsBeforeFile is how many form fields an upload may send before its file part (the CSRF
// token, a few options); a form that sends more is refused before anything more is read.
const maxFieldsBeforeFile = 8

// uploadFailure is why an upload was refused before its file was read: a status and the
// catalogue key of the message shown next to the file field, or csrf for a form whose token is
// not the session's.
type uploadFailure struct {
	status int
	key    string
	csrf   bool
}

// streamedUpload is the file part of an upload being read as a stream.
type streamedUpload struct {
	Part    *multipart.Part
	Charset string
	body    *uploadBody
}

// openUpload reads a streamed multipart/form-data upload up to its file part, never the whole
// body: the CSRF token comes in the X-CSRF-Token header (the page's JavaScript) or as the _csrf
// field before the file (the form without JavaScript) and is checked before the file is read.
// The caller defers close, which drains or closes what is left of the body.
func openUpload(c *fiber.Ctx) (*streamedUpload, *uploadFailure) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		stream = bytes.NewReader(c.Body())
	}
	u := &streamedUpload{body: &uploadBody{r: stream}}
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEMultipartForm || params["boundary"] == "" {
		c.Context().SetConnectionClose()
		return nil, &uploadFailure{status: fiber.StatusUnsupportedMediaType, key: "clinic.upload.not_a_form"}
	}
	mr := multipart.NewReader(encounters.LimitImport(u.body, uploadLimit), params["boundary"])
	token := strings.Clone(c.Get(csrfHeader))
	for fields := 0; ; fields++ {
		part, err := mr.NextPart()
		switch {
		case errors.Is(err, io.EOF):
			return nil, &uploadFailure{status: fiber.StatusUnprocessableEntity, key: "clinic.upload.no_file"}
		case err != nil || fields > maxFieldsBeforeFile:
			c.Context().SetConnectionClose()
			return nil, &uploadFailure{status: fiber.StatusBadRequest, key: "clinic.upload.cut_off"}
		}
		if part.FileName() != "" || part.FormName() == "file" {
			u.Part = part
			break
		}
		b, _ := io.ReadAll(io.LimitReader(part, 256))
		if part.FormName() == csrfField && token == "" {
			token = string(b)
		}
	}
	if s := sess(c); s == nil || subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) != 1 {
		c.Context().SetConnectionClose()
		return nil, &uploadFailure{csrf: true}
	}
	if u.Part.FileName() == "" {
		return nil, &uploadFailure{status: fiber.StatusUnprocessableEntity, key: "clinic.upload.no_file"}
	}
	if _, pp, err := mime.ParseMediaType(u.Part.Header.Get(fiber.HeaderContentType)); err == nil {
		u.Charset = pp["charset"]
	}
	return u, nil
}

// close leaves the connection ready for its next request: what is left of a streamed body would
// be read as one, so a little is drained (a multipart's closing boundary), else it is closed.
func (u *streamedUpload) close(c *fiber.Ctx) {
	if u == nil || u.body.eof {
		return
	}
	if _, err := io.CopyN(io.Discard, u.body, 64<<10); !u.body.eof || (err != nil && !errors.Is(err, io.EOF)) {
		c.Context().SetConnectionClose()
	}
}

// uploadDetail is the import's explanation of a refused file in the reader's language: its field
// messages, or its message.
func uploadDetail(tr i18n.Translator, e *trcledger.Error) string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = tr.Problem(f.Format, f.Args, f.Message)
	}
	return strings.Join(parts, "; ")
}
