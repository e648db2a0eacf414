package api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/internal/metrics"
)

type referralRequest struct {
	Number         string  `json:"number" validate:"required,max=64"`
	ToLevel        string  `json:"to_level" validate:"required,vocab=to_level"`
	ToProviderCode *string `json:"to_provider_code" validate:"omitempty,max=40"`
}

type lineRequest struct {
	ServiceCode string `json:"service_code" validate:"required,max=40"`
	Quantity    Num    `json:"quantity"`
}

type encounterRequest struct {
	ContractCode        string           `json:"contract_code" validate:"required,max=64"`
	SiteCode            string           `json:"site_code" validate:"required,max=64"`
	ExternalID          string           `json:"external_id" validate:"required,max=64"`
	PatientID           string           `json:"patient_id" validate:"required,max=64"`
	BeneficiaryCategory string           `json:"beneficiary_category" validate:"required,vocab=beneficiary_category"`
	Sex                 *string          `json:"sex" validate:"omitempty,vocab=sex"`
	BirthYear           *int             `json:"birth_year"`
	ServiceDate         *string          `json:"service_date" validate:"required"`
	Kind                string           `json:"kind" validate:"required,vocab=kind"`
	Diagnoses           []string         `json:"diagnoses" validate:"max=20,dive,max=10"`
	Referral            *referralRequest `json:"referral"`
	PractitionerRef     *string          `json:"practitioner_ref" validate:"omitempty,max=64"`
	Corrects            *string          `json:"corrects" validate:"omitempty,max=36"`
	Lines               []lineRequest    `json:"lines" validate:"required,min=1,max=100,dive"`
	// CapturedAt is when the clinic's device captured the encounter (RFC 3339), which an
	// offline capture sends later; stored with the encounter as it is.
	CapturedAt *string `json:"captured_at" validate:"omitempty,max=40"`
}

type batchRequest struct {
	Encounters []encounterRequest `json:"encounters" validate:"required,min=1,max=1000,dive"`
}

type voidRequest struct {
	Reason string `json:"reason" validate:"required,max=500"`
	// BookInOpenMonth books the void of an encounter of a closed month in the first open month
	// after it (docs/corrections.md); without it that void is 409 period_closed.
	BookInOpenMonth bool `json:"book_in_open_month"`
}

// input converts a decoded request; conversion problems go to f under prefix.
func (r *encounterRequest) input(f *trcledger.Fields, prefix string) encounters.EncounterInput {
	in := encounters.EncounterInput{
		ContractCode: r.ContractCode, SiteCode: r.SiteCode, ExternalID: r.ExternalID, PatientID: r.PatientID,
		BeneficiaryCategory: r.BeneficiaryCategory, Sex: r.Sex, BirthYear: r.BirthYear, Kind: r.Kind,
		Diagnoses: r.Diagnoses, PractitionerRef: r.PractitionerRef, Corrects: r.Corrects,
	}
	if in.Diagnoses == nil {
		in.Diagnoses = []string{}
	}
	if d := dateField(f, prefix+"service_date", r.ServiceDate, true); d != nil {
		in.ServiceDate = *d
	}
	if r.CapturedAt != nil && *r.CapturedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *r.CapturedAt)
		if err != nil {
			f.Add(prefix+"captured_at", "must be a time in RFC 3339 such as 2026-12-01T09:30:00+01:00")
		} else {
			in.CapturedAt = &t
		}
	}
	if r.Referral != nil {
		in.Referral = &encounters.Referral{Number: r.Referral.Number, ToLevel: r.Referral.ToLevel, ToProviderCode: r.Referral.ToProviderCode}
	}
	for i, l := range r.Lines {
		q, _ := l.Quantity.Decimal(f, fmt.Sprintf("%slines[%d].quantity", prefix, i), true)
		in.Lines = append(in.Lines, encounters.LineInput{ServiceCode: l.ServiceCode, Quantity: q})
	}
	return in
}

// idempotency reads the required Idempotency-Key header and digests the body; what names what
// one key stands for ("encounter", "batch", "payment"), for the message when it is missing.
func idempotency(c *fiber.Ctx, f *trcledger.Fields, what string) claims.Idempotency {
	idem := optionalIdempotency(c, f)
	if idem.Key == "" {
		f.Add("Idempotency-Key", "the header is required: send a unique key per %s and the same key when you retry it", what)
	}
	return idem
}

// optionalIdempotency reads an Idempotency-Key header that may be absent (voids and statement
// actions) and digests the body. The digest is SHA-256; the service stores only a keyed hash of it.
func optionalIdempotency(c *fiber.Ctx, f *trcledger.Fields) claims.Idempotency {
	key := c.Get("Idempotency-Key")
	if len(key) > 200 {
		f.Add("Idempotency-Key", "must be at most 200 characters")
	}
	sum := sha256.Sum256(bytes.TrimSpace(c.Body()))
	return claims.Idempotency{Key: string([]byte(key)), RequestHash: sum[:]}
}

func sendPost(c *fiber.Ctx, res *claims.PostResult) error {
	return sendAnswer(c, fiber.StatusCreated, res)
}

// sendAnswer sends the exact JSON of an idempotent answer, the first time and on every replay.
func sendAnswer(c *fiber.Ctx, status int, res *claims.PostResult) error {
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(res.Body)
}

func postEncounter(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req encounterRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := idempotency(c, f, "encounter")
		in := req.input(f, "")
		if f.Len() > 0 { // name the content errors too, not only the shape errors
			if err := f.MergeErr(svc.Check(c.UserContext(), []encounters.EncounterInput{in}, false)); err != nil {
				return err
			}
			return f.Err()
		}
		res, err := svc.PostEncounter(c.UserContext(), in, idem)
		if err != nil {
			return err
		}
		return sendPost(c, &res.PostResult)
	}
}

func postBatch(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req batchRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := idempotency(c, f, "batch")
		ins := make([]encounters.EncounterInput, len(req.Encounters))
		var objects []int // the encounters that are at least objects, which the content check sees
		for i := range req.Encounters {
			if !f.Has(fmt.Sprintf("encounters[%d]", i)) {
				objects = append(objects, i)
				ins[i] = req.Encounters[i].input(f, fmt.Sprintf("encounters[%d].", i))
			}
		}
		if f.Len() > 0 {
			if f.Full() {
				return f.Err()
			}
			if len(objects) > 0 && len(objects) <= encounters.MaxBatch {
				checked := make([]encounters.EncounterInput, len(objects))
				for j, i := range objects {
					checked[j] = ins[i]
				}
				if err := mergeBatchErr(f, svc.Check(c.UserContext(), checked, true), objects); err != nil {
					return err
				}
			}
			return f.Err()
		}
		res, err := svc.PostBatch(c.UserContext(), ins, idem)
		if err != nil {
			return err
		}
		return sendPost(c, &res.PostResult)
	}
}

// mergeBatchErr adds the field errors of err, a check of the encounters whose indexes in the
// request are at, to f under their request index; any error but EINVALID is returned as it is.
func mergeBatchErr(f *trcledger.Fields, err error, at []int) error {
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != trcledger.EINVALID {
		return err
	}
	for _, fe := range e.Fields {
		var j int
		var rest string
		if n, _ := fmt.Sscanf(fe.Field, "encounters[%d]", &j); n == 1 && j < len(at) {
			rest = fe.Field[strings.IndexByte(fe.Field, ']')+1:]
			fe.Field = fmt.Sprintf("encounters[%d]%s", at[j], rest)
		}
		f.Add(fe.Field, "%s", fe.Message)
	}
	if e.Truncated() {
		f.Count(e.Total - len(e.Fields))
	}
	return nil
}

// importEncounters reads the CSV file as a stream: the body itself (text/csv), or the first file
// part of a multipart/form-data upload (curl -F file=@x.csv, a browser form). Any other body
// is 415 saying what to send.
func importEncounters(svc *encounters.Service, limit int64, m *metrics.Metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		stream := c.Context().RequestBodyStream()
		if stream == nil {
			stream = bytes.NewReader(c.Body())
		}
		br := &bodyReader{r: stream}
		body := &eofReader{r: br}
		defer func() {
			// fasthttp would read what is left of a streamed body as the next request on the
			// connection: drain a little (a multipart's closing boundary), else close it. A body
			// already read to its end is not read again: a chunked stream would wait for more.
			if body.eof {
				return
			}
			if _, err := io.CopyN(io.Discard, body, 64<<10); !body.eof || (err != nil && !errors.Is(err, io.EOF)) {
				c.Context().SetConnectionClose()
			}
		}()
		r := encounters.LimitImport(body, limit)
		mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
		if c.Get(fiber.HeaderContentType) == "" {
			mediaType, err = "text/csv", nil
		}
		if err != nil {
			return unsupportedImport()
		}
		charset := params["charset"]
		switch {
		case csvMediaTypes[mediaType]:
		case mediaType == "multipart/form-data":
			if params["boundary"] == "" {
				return trcledger.Errorf(trcledger.EMALFORMED, "the multipart/form-data Content-Type names no boundary")
			}
			part, err := fileOf(multipart.NewReader(r, params["boundary"]))
			if err != nil {
				return err
			}
			r, charset = part, ""
			if ct := part.Header.Get(fiber.HeaderContentType); ct != "" { // none: read it as CSV
				pt, pp, err := mime.ParseMediaType(ct)
				if err != nil || !csvMediaTypes[pt] {
					return unsupportedImport()
				}
				charset = pp["charset"]
			}
		default:
			return unsupportedImport()
		}
		res, err := svc.ImportFile(c.UserContext(), r, encounters.ImportOptions{Charset: charset})
		if res != nil { // also what an import cut short (413, 408) stored before it stopped
			m.Imported(res.Accepted, res.Skipped, res.Rejected)
		}
		var te *trcledger.Error
		if br.timedOut && errors.As(err, &te) && te.Code == trcledger.EMALFORMED {
			// The import has stopped reading (it returned): a 408, with how far it got.
			return fiber.NewError(fiber.StatusRequestTimeout, bodyTimedOut+": "+te.Message)
		}
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// eofReader records whether its reader has reached the end.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

// csvMediaTypes are the content types a CSV file is sent with (browsers on Windows label a
// .csv file application/vnd.ms-excel).
var csvMediaTypes = map[string]bool{
	"text/csv": true, "application/csv": true, "text/comma-separated-values": true, "text/plain": true,
	"application/vnd.ms-excel": true, "application/octet-stream": true, "text/x-csv": true, "application/x-csv": true,
}

func unsupportedImport() error {
	return trcledger.Errorf(trcledger.EUNSUPPORTED,
		"send the CSV file as the body with Content-Type: text/csv (curl --data-binary @file.csv -H 'Content-Type: text/csv'), "+
			"or as multipart/form-data with one file part (curl -F file=@file.csv); an Excel workbook must first be saved as CSV")
}

// fileOf returns the first file part of a multipart body, skipping plain form fields, without
// reading the file.
func fileOf(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, (&trcledger.Fields{}).AddErr("file", "the form holds no file; send the CSV file as a file part (curl -F file=@file.csv)")
		}
		if err != nil {
			return nil, trcledger.Errorf(trcledger.EMALFORMED, "the multipart/form-data body could not be read")
		}
		if part.FileName() != "" || part.FormName() == "file" {
			return part, nil
		}
	}
}

// maxImportBytes caps one CSV upload (about 8 million rows) unless Config.ImportLimit says
// otherwise; it is read as a stream.
const maxImportBytes = 1 << 30

func listEncounters(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := encounters.EncounterFilter{
			ContractCode: query(c, "contract_code"), SiteCode: query(c, "site_code"),
			Status: query(c, "status"), Cursor: query(c, "cursor"),
		}
		for _, name := range []string{"contract_code", "site_code", "cursor"} {
			checkQuery(&f, name, c.Query(name))
		}
		checkVocab(&f, "status", "encounter_status", filter.Status)
		if v := query(c, "from"); v != "" {
			filter.From = dateField(&f, "from", &v, false)
		}
		if v := query(c, "to"); v != "" {
			filter.To = dateField(&f, "to", &v, false)
		}
		filter.Limit = limitParam(c, &f, 500)
		if err := f.Err(); err != nil {
			return err
		}
		items, next, err := svc.FindEncounters(c.UserContext(), filter)
		if err != nil {
			return err
		}
		out := list[*encounters.Encounter]{Items: items}
		if next != "" {
			out.NextCursor = &next
		}
		return c.JSON(out)
	}
}

func getEncounter(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		e, err := svc.FindEncounterByID(c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}

func voidEncounter(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req voidRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		if req.BookInOpenMonth {
			res, err := svc.VoidEncounterWith(c.UserContext(), pathParam(c, "id"), req.Reason, encounters.VoidOptions{InOpenMonth: true}, idem)
			if err != nil {
				return err
			}
			return sendAnswer(c, fiber.StatusOK, res)
		}
		if idem.Key != "" {
			res, err := svc.VoidEncounterKeyed(c.UserContext(), pathParam(c, "id"), req.Reason, idem)
			if err != nil {
				return err
			}
			return sendAnswer(c, fiber.StatusOK, res)
		}
		e, err := svc.VoidEncounter(c.UserContext(), pathParam(c, "id"), req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}
