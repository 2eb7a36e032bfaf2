package train

import (
	"fmt"
	"io"
	"os"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/models"
)

// Auto is the value of --model and --augment that lets the trainer choose them from the data
// (the defaults): small grayscale images get the default recipe (small-cnn, small-gray); RGB
// images get ResNet-18 with the CIFAR stem up to 64 px and the ImageNet stem above, with the
// simclr preset; vectors get the mlp encoder with SCARF. For an image folder whose images differ
// in size, are not square, or (with --model auto) are larger than AutoMaxImageSize, the image
// size is chosen too: the median shorter side, rounded to a multiple of 32, within [32,
// AutoMaxImageSize]. The choices are printed at the start with their reason and recorded in
// config.json, so a resumed run keeps them.
const Auto = "auto"

// AutoMaxImageSize caps the image size chosen for photos: ResNet-18 on two CPU cores trains
// about 5 images/s at 96 px (bench --model resnet18), four times slower at 192.
const AutoMaxImageSize = 96

// folderProbe is how many image headers the choice reads.
const folderProbe = 512

// autoBeforeOpen decides, before the data is opened, the channels to decode an image folder to
// and, where needed, the image size. It returns the channels for data.OpenForModel.
func (t *Trainer) autoBeforeOpen(channels int, log io.Writer) int {
	cfg := &t.Config
	st, err := os.Stat(cfg.Data)
	if err != nil || !st.IsDir() {
		return channels
	}
	sum, err := data.InspectFolder(cfg.Data, folderProbe)
	if err != nil {
		return channels // not an image folder (IDX or CIFAR files), or unreadable: Open says why
	}
	if cfg.Model.Name == Auto && cfg.Model.InChannels == 0 {
		channels = 3
		if sum.Gray {
			channels = 1
		}
	}
	if cfg.ImageSize == 0 && (sum.Mixed || cfg.Model.Name == Auto && sum.MedianShort > AutoMaxImageSize) {
		size := min(max(32, (sum.MedianShort+16)/32*32), AutoMaxImageSize)
		cfg.ImageSize = size
		why := "its images differ in size"
		if !sum.Mixed {
			why = fmt.Sprintf("its images are larger than %d px, the most that trains at a useful speed on a CPU", AutoMaxImageSize)
		}
		logf(log, "auto: --image-size %d for %s: %s (median shorter side %d px of %d probed); pass --image-size to choose\n",
			size, cfg.Data, why, sum.MedianShort, sum.Probed)
	}
	return channels
}

// autoAfterOpen resolves --model auto and --augment auto from the first sample: c channels,
// side h (1 for vectors).
func (t *Trainer) autoAfterOpen(c, h int, log io.Writer) {
	cfg := &t.Config
	vectors := c == 1 && h == 1
	var model, augment, why string
	switch {
	case vectors:
		model, augment, why = models.MLPName, ScarfAugment, "vectors"
	case c == 1 && h <= 64:
		model, augment, why = models.SmallCNNName, "small-gray", fmt.Sprintf("small grayscale images (%d px): the default recipe", h)
	case h <= 64:
		model, augment, why = models.ResNet18CIFARName, "simclr", fmt.Sprintf("%d-channel images of %d px: ResNet-18 with the CIFAR stem, SimCLR's augmentation", c, h)
	default:
		model, augment, why = models.ResNet18Name, "simclr", fmt.Sprintf("%d-channel images of %d px: ResNet-18 with the ImageNet stem, SimCLR's augmentation", c, h)
	}
	var chosen string
	if cfg.Model.Name == Auto {
		cfg.Model.Name = model
		chosen += " --model " + model
	}
	if cfg.Augment == Auto {
		cfg.Augment = augment
		chosen += " --augment " + augment
	}
	if chosen != "" {
		logf(log, "auto:%s for %s (%s)\n", chosen, cfg.Data, why)
	}
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}
