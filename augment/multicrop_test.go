package augment

import (
	"fmt"
	"testing"

	"github.com/contrastive-go/contrastive/data"
)

func TestLocalViews(t *testing.T) {
	t.Run("defaults: 3/7 of the global size, DINO's scale", func(t *testing.T) {
		m := MultiCrop{Local: 2}.WithDefaults(28)
		if m.Size != 12 || m.Scale != [2]float64{0.05, 0.4} {
			t.Errorf("defaults %+v, want size 12, scale [0.05 0.4]", m)
		}
		if s := (MultiCrop{}).WithDefaults(10).Size; s != 8 {
			t.Errorf("size for 10-pixel images %d, want the floor of 8", s)
		}
	})
	t.Run("the global pipeline with a small crop", func(t *testing.T) {
		views, err := LocalViews("small-gray", 28, 1, MultiCrop{Local: 3, Size: 14, Scale: [2]float64{0.1, 0.3}})
		if err != nil {
			t.Fatal(err)
		}
		if len(views) != 3 {
			t.Fatalf("%d views, want 3", len(views))
		}
		global, _ := Preset("small-gray", 28, 1)
		gp, lp := global[0].(*Pipeline), views[0].(*Pipeline)
		if len(gp.Steps) != len(lp.Steps) {
			t.Fatalf("local pipeline %v, global %v", lp, gp)
		}
		for i, st := range lp.Steps {
			if c, ok := st.(RandomResizedCrop); ok {
				want := RandomResizedCrop{Height: 14, Width: 14, Scale: [2]float64{0.1, 0.3}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
				if c != want {
					t.Errorf("crop %+v, want %+v", c, want)
				}
				continue
			}
			if fmt.Sprintf("%+v", lp.Steps[i]) != fmt.Sprintf("%+v", gp.Steps[i]) {
				t.Errorf("step %d: %+v, the global view has %+v", i, lp.Steps[i], gp.Steps[i])
			}
		}
		img := data.NewImage(1, 28, 28)
		for i := range img.Pix {
			img.Pix[i] = float32(i%28) / 28
		}
		out := views[1].Apply(img, rng(4))
		if out.C != 1 || out.H != 14 || out.W != 14 {
			t.Errorf("local view is %dx%dx%d, want 1x14x14", out.C, out.H, out.W)
		}
	})
	t.Run("no local views", func(t *testing.T) {
		if v, err := LocalViews("simclr", 32, 3, MultiCrop{}); err != nil || v != nil {
			t.Errorf("Local 0: %v, %v; want none, nil", v, err)
		}
	})
	for _, tc := range []struct {
		name   string
		preset string
		m      MultiCrop
	}{
		{"preset without a crop", "eval", MultiCrop{Local: 2}},
		{"unknown preset", "bogus", MultiCrop{Local: 2}},
		{"negative count", "small-gray", MultiCrop{Local: -1}},
		{"negative size", "small-gray", MultiCrop{Local: 2, Size: -3}},
		{"scale above 1", "small-gray", MultiCrop{Local: 2, Scale: [2]float64{0.5, 1.5}}},
		{"reversed scale", "small-gray", MultiCrop{Local: 2, Scale: [2]float64{0.4, 0.1}}},
	} {
		t.Run("error: "+tc.name, func(t *testing.T) {
			if _, err := LocalViews(tc.preset, 28, 1, tc.m); err == nil {
				t.Error("no error")
			}
		})
	}
}
