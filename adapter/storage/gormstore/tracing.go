package gormstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-auth/gatehouse/domain"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// Option configures a Store.
type Option func(*Store)

// WithTracerProvider makes every store call a client span of tp: each GORM
// statement ("db query users", through callbacks registered on the
// *gorm.DB) and each hand-written database/sql call ("db RefreshGrant").
// Spans carry the database system, the operation, the table and the
// statement text with its placeholders; never the statement's arguments,
// which hold token hashes, password hashes and user data, and never an
// error's text (a constraint error can quote a value). Without this option
// no span code runs.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *Store) { s.tracer = tp.Tracer("github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore") }
}

// dbSystem is the semantic-conventions name of the store's database.
func (s *Store) dbSystem() string {
	if s.isPostgres() {
		return "postgresql"
	}
	return s.db.Dialector.Name()
}

// endNothing is traceSQL's end when tracing is off.
func endNothing(error) {}

// traceSQL opens the span of a hand-written database/sql call; end closes
// it, marking it failed for errors other than no rows.
func (s *Store) traceSQL(ctx context.Context, op, query string) (context.Context, func(error)) {
	if s.tracer == nil {
		return ctx, endNothing
	}
	ctx, span := s.tracer.Start(ctx, "db "+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", s.dbSystem()),
		attribute.String("db.operation.name", op),
		attribute.String("db.query.text", query),
	))
	return ctx, func(err error) {
		endSpan(span, err)
	}
}

// endSpan ends span, with an error status (no description) if err is a
// failure rather than "not found".
func endSpan(span trace.Span, err error) {
	if err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, domain.ErrNotFound) {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// spanBefore and spanAfter name the tracing callbacks.
const (
	spanBefore = "gatehouse:span_before"
	spanAfter  = "gatehouse:span_after"
)

// registerTracing adds callbacks that open a span before every GORM
// statement and end it after, once per *gorm.DB (its sessions share the
// callbacks).
func registerTracing(db *gorm.DB, tracer trace.Tracer, system string) error {
	cb := db.Callback()
	if cb.Query().Get(spanBefore) != nil {
		return nil
	}
	type register func(name string, fn func(*gorm.DB)) error
	for _, p := range []struct {
		op            string
		before, after register
	}{
		{"create", cb.Create().Before("*").Register, cb.Create().After("*").Register},
		{"query", cb.Query().Before("*").Register, cb.Query().After("*").Register},
		{"update", cb.Update().Before("*").Register, cb.Update().After("*").Register},
		{"delete", cb.Delete().Before("*").Register, cb.Delete().After("*").Register},
		{"row", cb.Row().Before("*").Register, cb.Row().After("*").Register},
		{"raw", cb.Raw().Before("*").Register, cb.Raw().After("*").Register},
	} {
		if err := p.before(spanBefore, startGORMSpan(tracer, p.op, system)); err != nil {
			return err
		}
		if err := p.after(spanAfter, endGORMSpan); err != nil {
			return err
		}
	}
	return nil
}

// gormSpanKey keeps the statement's span and the context it replaced.
type gormSpanKey struct{}

type gormSpan struct {
	span   trace.Span
	op     string
	parent context.Context
}

func startGORMSpan(tracer trace.Tracer, op, system string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		st := db.Statement
		if st == nil || st.Context == nil {
			return
		}
		ctx, span := tracer.Start(st.Context, "db "+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", system), attribute.String("db.operation.name", op)))
		st.Context = context.WithValue(ctx, gormSpanKey{}, &gormSpan{span: span, op: op, parent: st.Context})
	}
}

// endGORMSpan names the span by its table, records the statement text (its
// placeholders, never db.Statement.Vars) and ends it.
func endGORMSpan(db *gorm.DB) {
	st := db.Statement
	if st == nil || st.Context == nil {
		return
	}
	gs, ok := st.Context.Value(gormSpanKey{}).(*gormSpan)
	if !ok {
		return
	}
	st.Context = gs.parent // a chained statement must not nest under this ended span
	if st.Table != "" {
		gs.span.SetName("db " + gs.op + " " + st.Table)
		gs.span.SetAttributes(attribute.String("db.collection.name", st.Table))
	}
	if q := st.SQL.String(); q != "" {
		gs.span.SetAttributes(attribute.String("db.query.text", q))
	}
	if db.RowsAffected >= 0 {
		gs.span.SetAttributes(attribute.Int64("db.response.returned_rows", db.RowsAffected))
	}
	endSpan(gs.span, db.Error)
}
