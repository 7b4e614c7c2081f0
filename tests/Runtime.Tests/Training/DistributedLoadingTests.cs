using System;
using ModelDsl.Runtime.Cpu;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>The parts of distributed mode that need no running MPI job (tests/Distributed.Tests runs the rest under mpirun).</summary>
public class DistributedLoadingTests
{
    [Fact]
    public void A_missing_libmpi_is_an_explained_error_that_says_how_to_install_it()
    {
        var error = Assert.Throws<DistributedUnavailableException>(() => MpiLibrary.Load(["/nonexistent/libmpi.so.40"]));
        Assert.Contains("tried /nonexistent/libmpi.so.40", error.Message);
        Assert.Contains("apt-get install openmpi-bin libopenmpi3", error.Message);
        Assert.Contains(MpiLibrary.PathVariable, error.Message);
    }

    [Fact]
    public void A_library_without_open_mpi_handles_is_refused_by_name()
    {
        // libc loads fine but is no Open MPI: its handle symbols are missing, and passing integer handles would crash.
        var error = Assert.Throws<DistributedUnavailableException>(() => MpiLibrary.Load(["libc.so.6"]));
        Assert.Contains("libc.so.6 does not export ompi_mpi_comm_world", error.Message);
    }

    [Fact]
    public void Dropout_stream_0_is_the_single_process_seed_and_other_streams_differ_reproducibly()
    {
        for (int step = 0; step < 50; step++)
        {
            uint single = Dropout.Seed(42, step, 1);
            Assert.Equal(single, Dropout.Seed(42, step, 1, stream: 0));
            Assert.NotEqual(single, Dropout.Seed(42, step, 1, stream: 1));
            Assert.NotEqual(Dropout.Seed(42, step, 1, stream: 1), Dropout.Seed(42, step, 1, stream: 2));
            Assert.Equal(Dropout.Seed(42, step, 1, stream: 3), Dropout.Seed(42, step, 1, stream: 3));
        }
    }
}
