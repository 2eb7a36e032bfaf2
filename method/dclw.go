package method

// DCLW is DCL with the positive pairs weighted (loss.DCLW); see DCL.
func init() { Register("dclw", Factory{DataParallel: true, New: newDCL(true)}) }
