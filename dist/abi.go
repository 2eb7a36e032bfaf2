package dist

// abi is what differs between the MPI libraries this package drives: where to find the library
// and how its handles are spelt. Open MPI's MPI_Comm, MPI_Datatype and MPI_Op are pointers to
// predefined objects, so its handles are the addresses of exported globals (ompi_mpi_comm_world,
// ...); MPICH's are integers fixed by its mpi.h. MPI_IN_PLACE is (void*)1 in Open MPI and
// (void*)−1 in MPICH. Everything else the package calls (MPI_Init_thread, MPI_Allreduce,
// MPI_Allgather, MPI_Bcast, MPI_Barrier, ...) has the same C signature in both.
type abi struct {
	name string   // "Open MPI" or "MPICH"
	libs []string // sonames and paths tried in order
	// Handles: a symbol name (Open MPI) or a fixed value (MPICH).
	world, float, double, byte, sum handle
	inPlace                         uintptr
	statusIgnore                    uintptr // MPI_STATUS_IGNORE: (MPI_Status*)0 in Open MPI, 1 in MPICH
	// probe is a symbol only this ABI's library exports ("" for none): it tells which ABI a
	// library named by CONTRASTIVE_MPI_LIB has.
	probe string
}

// handle is a predefined MPI object: the address of the exported global sym, or the value val.
type handle struct {
	sym string
	val uintptr
}

func sym(name string) handle { return handle{sym: name} }
func val(v uintptr) handle   { return handle{val: v} }

// abis is the handle table. MPICH's values are those of MPICH 4's mpi.h (also the MPICH ABI
// initiative's: Intel MPI and MVAPICH share them).
var abis = []abi{
	{
		name: "Open MPI",
		libs: []string{"libmpi.so.40", "/usr/lib/x86_64-linux-gnu/libmpi.so.40", "/usr/lib/aarch64-linux-gnu/libmpi.so.40",
			"/usr/lib64/openmpi/lib/libmpi.so.40", "libmpi.40.dylib", "/opt/homebrew/lib/libmpi.40.dylib", "/usr/local/lib/libmpi.40.dylib"},
		world: sym("ompi_mpi_comm_world"), float: sym("ompi_mpi_float"), double: sym("ompi_mpi_double"),
		byte: sym("ompi_mpi_byte"), sum: sym("ompi_mpi_op_sum"),
		inPlace: 1, statusIgnore: 0,
		probe: "ompi_mpi_comm_world",
	},
	{
		name: "MPICH",
		libs: []string{"libmpich.so.12", "/usr/lib/x86_64-linux-gnu/libmpich.so.12", "/usr/lib/aarch64-linux-gnu/libmpich.so.12",
			"/usr/lib64/mpich/lib/libmpich.so.12", "libmpi.so.12", "libmpich.12.dylib", "/opt/homebrew/lib/libmpich.12.dylib"},
		world: val(0x44000000), float: val(0x4c00040a), double: val(0x4c00080b),
		byte: val(0x4c00010d), sum: val(0x58000003),
		inPlace: ^uintptr(0), statusIgnore: 1,
	},
}

// abiOrder returns the ABIs to try for a launcher kind: the launcher's own library first (Open
// MPI's mpirun and PMIx launchers: Open MPI; Hydra and PMI launchers: MPICH).
func abiOrder(kind string) []abi {
	if kind == "mpich" {
		return []abi{abis[1], abis[0]}
	}
	return []abi{abis[0], abis[1]}
}

// threadMultiple is MPI_THREAD_MULTIPLE (3 in both libraries).
const threadMultiple = 3
