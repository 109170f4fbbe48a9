// Package teav1 is a compile-only stand-in, see go.mod.
package teav1

import (
	tea "github.com/charmbracelet/bubbletea"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/vito/tuist"
)

type Wrap struct {
	tuist.Compo
	model tea.Model
}

func New(model tea.Model) *Wrap                                     { return &Wrap{model: model} }
func (b *Wrap) HandleKeyPress(tuist.Context, uv.KeyPressEvent) bool { return false }
func (b *Wrap) HandlePaste(tuist.Context, uv.PasteEvent) bool       { return false }
func (b *Wrap) Model() tea.Model                                    { return b.model }
func (b *Wrap) OnMount(tuist.Context)                               {}
func (b *Wrap) OnQuit(func())                                       {}
func (b *Wrap) Render(tuist.Context)                                {}
func (b *Wrap) SendMsg(tea.Msg)                                     {}
