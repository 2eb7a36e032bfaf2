package augment

import (
	"fmt"
	"sort"
	"strings"
)

// presetFunc builds one pipeline per view.
type presetFunc func(size, channels int) []Transform

var presets = map[string]presetFunc{
	"simclr":     simclr,
	"moco-v2":    mocoV2,
	"byol":       byol,
	"small-gray": smallGray,
	"eval":       evalPreset,
	"none":       func(int, int) []Transform { return []Transform{Compose(), Compose()} },
}

// Presets returns the names Preset knows, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the augmentation of a named method, one pipeline per view (two views; byol's
// differ), producing size×size images with the given number of channels (1 or 3):
//
//   - "simclr": SimCLR (Chen et al. 2020): RandomResizedCrop scale [0.08, 1], horizontal flip 0.5,
//     color jitter (0.8, 0.8, 0.8, 0.2) with p 0.8, grayscale p 0.2, Gaussian blur p 0.5,
//     ImageNet normalisation.
//   - "moco-v2": MoCo v2 (Chen et al. 2020): RandomResizedCrop scale [0.2, 1], color jitter
//     (0.4, 0.4, 0.4, 0.1) p 0.8, grayscale p 0.2, blur p 0.5, flip 0.5, ImageNet normalisation.
//   - "byol": BYOL (Grill et al. 2020, table 6): RandomResizedCrop [0.08, 1], flip 0.5, color
//     jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grayscale p 0.2; view 1 blur p 1.0 and no solarization,
//     view 2 blur p 0.1 and solarization p 0.2; ImageNet normalisation.
//   - "small-gray": the reference model's augmentation (DESIGN.md): RandomResizedCrop scale
//     [0.2, 1] ratio [3/4, 4/3] bilinear, flip 0.5, brightness and contrast jitter 0.4 with
//     p 0.8, Fashion-MNIST standardisation (0.2860, 0.3530).
//   - "eval": no augmentation: resize to size×size when needed and standardise with the
//     statistics the training presets use for that channel count (Fashion-MNIST for one channel,
//     ImageNet for three). Use Eval for the statistics of a specific training preset.
//   - "none": the identity.
//
// The ImageNet presets standardise one-channel images with (0.449, 0.226).
func Preset(name string, size, channels int) ([]Transform, error) {
	f, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("augment: unknown preset %q (known: %s)", name, strings.Join(Presets(), ", "))
	}
	if name != "none" {
		if size <= 0 {
			return nil, fmt.Errorf("augment: preset %q: invalid size %d", name, size)
		}
		if channels != 1 && channels != 3 {
			return nil, fmt.Errorf("augment: preset %q: %d channels, want 1 or 3", name, channels)
		}
	}
	return f(size, channels), nil
}

// Eval returns the evaluation transform that matches the training preset name: resize to
// size×size when needed, then the same standardisation, and nothing random.
func Eval(name string, size, channels int) (Transform, error) {
	if _, err := Preset(name, size, channels); err != nil {
		return nil, err
	}
	switch name {
	case "none":
		return Compose(), nil
	case "small-gray":
		return Compose(Resize{size, size}, Normalize{FashionMNISTMean, FashionMNISTStd}), nil
	case "eval":
		return evalPreset(size, channels)[0], nil
	default:
		return Compose(Resize{size, size}, imageNetNorm(channels)), nil
	}
}

func imageNetNorm(channels int) Normalize {
	if channels == 1 {
		return Normalize{ImageNetGrayMean, ImageNetGrayStd}
	}
	return Normalize{ImageNetMean, ImageNetStd}
}

func twice(p *Pipeline) []Transform { return []Transform{p, p} }

func simclr(size, channels int) []Transform {
	const s = 1.0
	return twice(Compose(
		RandomResizedCrop{Height: size, Width: size, Scale: [2]float64{0.08, 1}},
		HorizontalFlip{P: 0.5},
		ColorJitter{Brightness: 0.8 * s, Contrast: 0.8 * s, Saturation: 0.8 * s, Hue: 0.2 * s, P: 0.8},
		RandomGrayscale{P: 0.2},
		GaussianBlur{Sigma: [2]float64{0.1, 2}, P: 0.5},
		imageNetNorm(channels),
	))
}

func mocoV2(size, channels int) []Transform {
	return twice(Compose(
		RandomResizedCrop{Height: size, Width: size, Scale: [2]float64{0.2, 1}},
		ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4, Hue: 0.1, P: 0.8},
		RandomGrayscale{P: 0.2},
		GaussianBlur{Sigma: [2]float64{0.1, 2}, P: 0.5},
		HorizontalFlip{P: 0.5},
		imageNetNorm(channels),
	))
}

func byol(size, channels int) []Transform {
	view := func(blurP, solarizeP float64) Transform {
		return Compose(
			RandomResizedCrop{Height: size, Width: size, Scale: [2]float64{0.08, 1}},
			HorizontalFlip{P: 0.5},
			ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.2, Hue: 0.1, P: 0.8},
			RandomGrayscale{P: 0.2},
			GaussianBlur{Sigma: [2]float64{0.1, 2}, P: blurP},
			Solarize{Threshold: 0.5, P: solarizeP},
			imageNetNorm(channels),
		)
	}
	return []Transform{view(1.0, 0), view(0.1, 0.2)}
}

func smallGray(size, _ int) []Transform {
	return twice(Compose(
		RandomResizedCrop{Height: size, Width: size, Scale: [2]float64{0.2, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}},
		HorizontalFlip{P: 0.5},
		ColorJitter{Brightness: 0.4, Contrast: 0.4, P: 0.8},
		Normalize{FashionMNISTMean, FashionMNISTStd},
	))
}

func evalPreset(size, channels int) []Transform {
	norm := Normalize{FashionMNISTMean, FashionMNISTStd}
	if channels == 3 {
		norm = Normalize{ImageNetMean, ImageNetStd}
	}
	return twice(Compose(Resize{size, size}, norm))
}
