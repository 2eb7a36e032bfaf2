package augment

import "math/rand/v2"

// splitmix64 is the finaliser of Steele et al.'s SplitMix64 generator: a bijective mix whose output
// bits each depend on every input bit.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// SampleSeed hashes (seed, epoch, index, view) into the two words of a PCG seed. Distinct inputs
// give unrelated streams.
func SampleSeed(seed uint64, epoch, index, view int) (uint64, uint64) {
	h := splitmix64(seed)
	h = splitmix64(h ^ uint64(epoch))
	h = splitmix64(h ^ uint64(index))
	h = splitmix64(h ^ uint64(view))
	return h, splitmix64(h ^ 0x6a09e667f3bcc909)
}

// SampleRNG returns the random source of one view of one sample in one epoch: a PCG generator
// seeded by a hash of (seed, epoch, index, view). Use Reseed to reuse one generator without
// allocating.
func SampleRNG(seed uint64, epoch, index, view int) *rand.Rand {
	return rand.New(rand.NewPCG(SampleSeed(seed, epoch, index, view)))
}

// Reseed resets pcg to the stream of (seed, epoch, index, view), as SampleRNG would create it.
func Reseed(pcg *rand.PCG, seed uint64, epoch, index, view int) {
	pcg.Seed(SampleSeed(seed, epoch, index, view))
}
