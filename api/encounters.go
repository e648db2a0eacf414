package api

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
)

type referralRequest struct {
	Number         string  `json:"number" validate:"required,max=64"`
	ToLevel        string  `json:"to_level" validate:"required,oneof=secondary tertiary"`
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
	BeneficiaryCategory string           `json:"beneficiary_category" validate:"required,oneof=asylum_seeker irregular_migrant refugee subsidiary_protection unknown"`
	Sex                 *string          `json:"sex" validate:"omitempty,oneof=F M X"`
	BirthYear           *int             `json:"birth_year"`
	ServiceDate         *string          `json:"service_date" validate:"required"`
	Kind                string           `json:"kind" validate:"required,oneof=consultation referral emergency follow_up transport other"`
	Diagnoses           []string         `json:"diagnoses" validate:"max=20,dive,max=10"`
	Referral            *referralRequest `json:"referral"`
	PractitionerRef     *string          `json:"practitioner_ref" validate:"omitempty,max=64"`
	Corrects            *string          `json:"corrects" validate:"omitempty,max=36"`
	Lines               []lineRequest    `json:"lines" validate:"required,min=1,max=100,dive"`
}

type batchRequest struct {
	Encounters []encounterRequest `json:"encounters" validate:"required,min=1,max=1000,dive"`
}

type voidRequest struct {
	Reason string `json:"reason" validate:"required,max=500"`
}

// input converts a decoded request; conversion problems go to f under prefix.
func (r *encounterRequest) input(f *trcledger.Fields, prefix string) claims.EncounterInput {
	in := claims.EncounterInput{
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
	if r.Referral != nil {
		in.Referral = &claims.Referral{Number: r.Referral.Number, ToLevel: r.Referral.ToLevel, ToProviderCode: r.Referral.ToProviderCode}
	}
	for i, l := range r.Lines {
		q, _ := l.Quantity.Decimal(f, fmt.Sprintf("%slines[%d].quantity", prefix, i), true)
		in.Lines = append(in.Lines, claims.LineInput{ServiceCode: l.ServiceCode, Quantity: q})
	}
	return in
}

// idempotency reads the required Idempotency-Key header and digests the body.
func idempotency(c *fiber.Ctx, f *trcledger.Fields) claims.Idempotency {
	key := c.Get("Idempotency-Key")
	switch {
	case key == "":
		f.Add("Idempotency-Key", "the header is required: send a unique key per encounter and the same key when you retry")
	case len(key) > 200:
		f.Add("Idempotency-Key", "must be at most 200 characters")
	}
	sum := sha256.Sum256(bytes.TrimSpace(c.Body()))
	return claims.Idempotency{Key: string([]byte(key)), RequestHash: sum[:]}
}

func sendPost(c *fiber.Ctx, res *claims.PostResult) error {
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(fiber.StatusCreated).Send(res.Body)
}

func postEncounter(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req encounterRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := idempotency(c, f)
		in := req.input(f, "")
		if f.Len() > 0 { // name the content errors too, not only the shape errors
			if err := f.MergeErr(svc.Check(c.UserContext(), []claims.EncounterInput{in}, false)); err != nil {
				return err
			}
			return f.Err()
		}
		res, err := svc.PostEncounter(c.UserContext(), in, idem)
		if err != nil {
			return err
		}
		return sendPost(c, res)
	}
}

func postBatch(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req batchRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := idempotency(c, f)
		ins := make([]claims.EncounterInput, len(req.Encounters))
		for i := range req.Encounters {
			ins[i] = req.Encounters[i].input(f, fmt.Sprintf("encounters[%d].", i))
		}
		if f.Len() > 0 {
			if len(ins) > 0 && len(ins) <= claims.MaxBatch {
				if err := f.MergeErr(svc.Check(c.UserContext(), ins, true)); err != nil {
					return err
				}
			}
			return f.Err()
		}
		res, err := svc.PostBatch(c.UserContext(), ins, idem)
		if err != nil {
			return err
		}
		return sendPost(c, res)
	}
}

func importEncounters(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var r io.Reader = c.Context().RequestBodyStream()
		if r == nil {
			r = bytes.NewReader(c.Body())
		}
		res, err := svc.Import(c.UserContext(), io.LimitReader(bodyReader{r}, maxImportBytes))
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// maxImportBytes caps one CSV upload (about 8 million rows); it is read as a stream.
const maxImportBytes = 1 << 30

func listEncounters(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := claims.EncounterFilter{
			ContractCode: query(c, "contract_code"), SiteCode: query(c, "site_code"),
			Status: query(c, "status"), Cursor: query(c, "cursor"),
		}
		for _, name := range []string{"contract_code", "site_code", "cursor"} {
			checkQuery(&f, name, c.Query(name))
		}
		if filter.Status != "" && filter.Status != "posted" && filter.Status != "voided" {
			f.Add("status", "must be posted or voided")
		}
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
		out := list[*claims.Encounter]{Items: items}
		if next != "" {
			out.NextCursor = &next
		}
		return c.JSON(out)
	}
}

func getEncounter(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		e, err := svc.FindEncounterByID(c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}

func voidEncounter(svc *claims.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req voidRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		e, err := svc.VoidEncounter(c.UserContext(), pathParam(c, "id"), req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}
