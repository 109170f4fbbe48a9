// Package tuist is a compile-only stand-in, see go.mod. Render paths are no-ops; TUI.Start fails.
package tuist

import (
	"context"
	"errors"
	"io"
	"time"

	"charm.land/lipgloss/v2"
	uv "github.com/charmbracelet/ultraviolet"
)

// ErrUnavailable is returned by everything that would need a real terminal UI.
var ErrUnavailable = errors.New("interactive TUI not available in this Dagger build; use --progress=plain")

type Context struct {
	context.Context
	Width, Height int
}

func (ctx Context) AddInputListener(InputListener) func()                 { return func() {} }
func (ctx Context) Dispatch(fn func())                                    {}
func (ctx Context) HasKittyKeyboard() bool                                { return false }
func (ctx Context) Line(string)                                           {}
func (ctx Context) Lines(...string)                                       {}
func (ctx Context) RequestRender(bool)                                    {}
func (ctx Context) Resize(w, h int) Context                               { ctx.Width, ctx.Height = w, h; return ctx }
func (ctx Context) ScreenHeight() int                                     { return 0 }
func (ctx Context) SetCursor(row, col int)                                {}
func (ctx Context) SetFocus(Component)                                    {}
func (ctx Context) ShowOverlay(Component, *OverlayOptions) *OverlayHandle { return &OverlayHandle{} }

type Component interface {
	Render(ctx Context)
	compo() *Compo
}

type Compo struct{}

func (c *Compo) compo() *Compo                                     { return c }
func (c *Compo) RenderChild(Context, Component)                    {}
func (c *Compo) RenderChildInline(Context, Component) string       { return "" }
func (c *Compo) RenderChildResult(Context, Component) RenderResult { return RenderResult{} }
func (c *Compo) Update()                                           {}

type CursorPos struct{ Row, Col int }

type RenderResult struct {
	Lines  []string
	Cursor *CursorPos
}

type (
	Interactive interface {
		Component
		HandleKeyPress(ctx Context, ev uv.KeyPressEvent) bool
	}
	Pasteable interface {
		HandlePaste(ctx Context, ev uv.PasteEvent) bool
	}
	Focusable interface {
		SetFocused(ctx Context, focused bool)
	}
	Hoverable interface {
		SetHovered(ctx Context, hovered bool)
	}
	Mounter      interface{ OnMount(ctx Context) }
	Dismounter   interface{ OnDismount() }
	MouseEnabled interface {
		Component
		HandleMouse(ctx Context, ev MouseEvent) bool
	}
	InputListener func(ctx Context, ev uv.Event) bool
)

type MouseEvent struct {
	uv.MouseEvent
	Row, Col int
}

type Container struct {
	Compo
	Children []Component
}

func (c *Container) AddChild(comp Component)    { c.Children = append(c.Children, comp) }
func (c *Container) Clear()                     { c.Children = nil }
func (c *Container) RemoveChild(comp Component) {}
func (c *Container) Render(Context)             {}

type Slot struct {
	Compo
	child Component
}

func NewSlot(child Component) *Slot { return &Slot{child: child} }
func (s *Slot) Get() Component      { return s.child }
func (s *Slot) Render(Context)      {}
func (s *Slot) Set(c Component)     { s.child = c }

type Spinner struct {
	Compo
	Style func(string) string
	Label string
	Epoch time.Time
}

func NewSpinner() *Spinner         { return &Spinner{} }
func (s *Spinner) OnMount(Context) {}
func (s *Spinner) Render(Context)  {}

type TextInput struct {
	Compo
	Prompt             string
	ContinuationPrompt string
	OnSubmit           func(ctx Context, value string) bool
	Suggestion         string
	SuggestionStyle    func(string) string
	OnChange           func(ctx Context)
	KeyInterceptor     func(ctx Context, ev uv.KeyPressEvent) bool
	value              string
}

func NewTextInput(prompt string) *TextInput                        { return &TextInput{Prompt: prompt} }
func (t *TextInput) CursorEnd()                                    {}
func (t *TextInput) CursorScreenCol() int                          { return 0 }
func (t *TextInput) HandleKeyPress(Context, uv.KeyPressEvent) bool { return false }
func (t *TextInput) HandlePaste(Context, uv.PasteEvent) bool       { return false }
func (t *TextInput) InsertRune(r rune)                             { t.value += string(r) }
func (t *TextInput) Render(Context)                                {}
func (t *TextInput) SetFocused(Context, bool)                      {}
func (t *TextInput) SetValue(s string)                             { t.value = s }
func (t *TextInput) Value() string                                 { return t.value }

type Completion struct {
	Label, DisplayLabel, Detail, Documentation, Kind, InsertText string
}

type CompletionResult struct {
	Items       []Completion
	ReplaceFrom int
}

type (
	CompletionProvider func(input string, cursorPos int) CompletionResult
	DetailRenderer     func(c Completion, width int) []string
)

type CompletionMenu struct {
	Compo
	Provider          CompletionProvider
	DetailRenderer    DetailRenderer
	MaxVisible        int
	MenuStyle         lipgloss.Style
	MenuSelectedStyle lipgloss.Style
	MenuBorderStyle   lipgloss.Style
	DetailBorderStyle lipgloss.Style
	DetailTitleStyle  lipgloss.Style
	DimStyle          lipgloss.Style
}

func NewCompletionMenu(_ *TextInput, p CompletionProvider) *CompletionMenu {
	return &CompletionMenu{Provider: p}
}
func (m *CompletionMenu) HandleKeyPress(Context, uv.KeyPressEvent) bool { return false }
func (m *CompletionMenu) Hide()                                         {}
func (m *CompletionMenu) Refresh(Context)                               {}
func (m *CompletionMenu) Render(Context)                                {}
func (m *CompletionMenu) Visible() bool                                 { return false }

type OverlayAnchor int

const (
	AnchorCenter OverlayAnchor = iota
	AnchorTopLeft
	AnchorTopRight
	AnchorBottomLeft
	AnchorBottomRight
	AnchorTopCenter
	AnchorBottomCenter
	AnchorLeftCenter
	AnchorRightCenter
)

type SizeValue struct{ abs, pct float64 }

func SizeAbs(n int) SizeValue     { return SizeValue{abs: float64(n)} }
func SizePct(p float64) SizeValue { return SizeValue{pct: p} }

type CursorGroup struct{}

func NewCursorGroup() *CursorGroup { return &CursorGroup{} }

type OverlayMargin struct{ Top, Right, Bottom, Left int }

type OverlayOptions struct {
	Width, MaxHeight, Row, Col                   SizeValue
	MinWidth, OffsetX, OffsetY                   int
	Anchor                                       OverlayAnchor
	Margin                                       OverlayMargin
	ContentRelative, CursorRelative, PreferAbove bool
	CursorGroup                                  *CursorGroup
}

type OverlayHandle struct{ hidden bool }

func (h *OverlayHandle) IsHidden() bool             { return h.hidden }
func (h *OverlayHandle) Remove()                    {}
func (h *OverlayHandle) SetHidden(hidden bool)      { h.hidden = hidden }
func (h *OverlayHandle) SetOptions(*OverlayOptions) {}

type Terminal interface {
	Start(onInput func([]byte), onResize func()) error
	Stop()
	SetInputPassthrough(w io.Writer)
	Write(p []byte)
	WriteString(s string)
	Columns() int
	Rows() int
	HideCursor()
	ShowCursor()
}

type StdTerminal struct{}

func NewStdTerminal() *StdTerminal                      { return &StdTerminal{} }
func (t *StdTerminal) Columns() int                     { return 80 }
func (t *StdTerminal) HideCursor()                      {}
func (t *StdTerminal) Rows() int                        { return 24 }
func (t *StdTerminal) SetInputPassthrough(io.Writer)    {}
func (t *StdTerminal) ShowCursor()                      {}
func (t *StdTerminal) Start(func([]byte), func()) error { return ErrUnavailable }
func (t *StdTerminal) Stop()                            {}
func (t *StdTerminal) Write([]byte)                     {}
func (t *StdTerminal) WriteString(string)               {}

type TUI struct {
	Container
}

func New(Terminal) *TUI                                                      { return &TUI{} }
func (t *TUI) AboveWriter() io.Writer                                        { return io.Discard }
func (t *TUI) AddInputListener(InputListener) func()                         { return func() {} }
func (t *TUI) Dispatch(fn func())                                            { fn() }
func (t *TUI) Exec(fn func(in io.Reader, out, errOut io.Writer) error) error { return ErrUnavailable }
func (t *TUI) FullRedraws() int                                              { return 0 }
func (t *TUI) HasKittyKeyboard() bool                                        { return false }
func (t *TUI) HasSyncOutput() bool                                           { return false }
func (t *TUI) PrintAbove(string)                                             {}
func (t *TUI) RenderLines() []string                                         { return nil }
func (t *TUI) RenderOnce()                                                   {}
func (t *TUI) RequestRender(bool)                                            {}
func (t *TUI) SetDebugWriter(io.Writer)                                      {}
func (t *TUI) SetFocus(Component)                                            {}
func (t *TUI) SetShowHardwareCursor(bool)                                    {}
func (t *TUI) SetSyncOutput(bool)                                            {}
func (t *TUI) ShowOverlay(Component, *OverlayOptions) *OverlayHandle         { return &OverlayHandle{} }
func (t *TUI) Start() error                                                  { return ErrUnavailable }
func (t *TUI) Stop()                                                         {}

func CompositeLineAt(base, _ string, _, _, _ int) string { return base }
func ExpandTabs(s string, _ int) string                  { return s }
func SliceByColumn(line string, _, _ int) string         { return line }
func Truncate(s string, _ int, _ string) string          { return s }
func VisibleWidth(s string) int                          { return len(s) }
