using System;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>Kernel bugs, bad launches and bad modules become <see cref="CudaException"/>s that say what and where, never a hang or a crash.</summary>
public sealed class EmulatedErrorTests(EmulatorFixture emulator, ITestOutputHelper output) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public void SyncthreadsAfterEarlyExit_NamesKernelBlockAndArrivals()
    {
        using DeviceVariable x = emulator.Context.Allocate(512 * 4);
        var arguments = new KernelArguments();
        arguments.Add(x);
        arguments.Add(300);  // block 0 is whole; 44 threads of block 1 reach the barrier, 212 have returned

        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("early_exit_then_sync").Launch(new Dim3(2), new Dim3(256), ref arguments));
        output.WriteLine(error.Message);

        Assert.Contains("kernel 'early_exit_then_sync', block (1, 0, 0)", error.Message);
        Assert.Contains("__syncthreads() reached by 44 of 256 threads", error.Message);
        Assert.Contains("212 had exited", error.Message);
        Assert.Contains("module 'emulation_tests'", error.Message);
    }

    [Fact]
    public void ShuffleAfterEarlyExit_NamesWarpAndArrivals()
    {
        using DeviceVariable x = emulator.Context.Allocate(64 * 4);
        var arguments = new KernelArguments();
        arguments.Add(x);
        arguments.Add(40);  // lanes 8..31 of warp 1 return before the shuffle

        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("early_exit_then_shuffle").Launch(new Dim3(1), new Dim3(64), ref arguments));
        output.WriteLine(error.Message);

        Assert.Contains("kernel 'early_exit_then_shuffle', block (0, 0, 0), warp 1", error.Message);
        Assert.Contains("reached by 8 of its 32 lanes", error.Message);
    }

    [Fact]
    public void Trap_NamesTheThread()
    {
        var arguments = new KernelArguments();
        arguments.Add(5);
        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("trap_in_thread").Launch(new Dim3(1), new Dim3(32), ref arguments));
        output.WriteLine(error.Message);
        Assert.Contains("kernel 'trap_in_thread', block (0, 0, 0), thread (5, 0, 0): __trap()", error.Message);
    }

    [Fact]
    public void MissingKernel_NamesModuleAndListsItsKernels()
    {
        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("vector_sub"));
        output.WriteLine(error.Message);
        Assert.Contains("module 'emulation_tests' has no kernel 'vector_sub'", error.Message);
        Assert.Contains("vector_add, block_sum", error.Message);
    }

    [Fact]
    public void CompileError_NamesModuleAndCarriesCompilerOutput()
    {
        const string source = """
            extern "C" __global__ void broken(float* x)
            {
                x[threadIdx.x] = not_declared_anywhere;
            }
            """;
        var error = Assert.Throws<CudaException>(() => emulator.Context.LoadModule("broken_module", source));
        output.WriteLine(error.Message);
        Assert.Contains("CUDA module 'broken_module' does not compile for the CPU emulator", error.Message);
        Assert.Contains("broken_module.cu:3", error.Message);
        Assert.Contains("not_declared_anywhere", error.Message);
    }

    [Fact]
    public void MissingCompiler_IsCudaUnavailable()
    {
        var error = Assert.Throws<CudaUnavailableException>(() => new Cuda.Emulation.EmulatedContext("modeldsl-no-such-compiler++"));
        output.WriteLine(error.Message);
        Assert.Equal("CUDA emulation needs a C++ compiler: modeldsl-no-such-compiler++ was not found on PATH (apt-get install g++)", error.Message);
    }

    [Fact]
    public void WrongArgumentCount_IsRefusedBeforeLaunch()
    {
        using DeviceVariable x = emulator.Context.Allocate(16);
        var arguments = new KernelArguments();
        arguments.Add(x);
        arguments.Add(x);
        arguments.Add(1f);
        arguments.Add(4);  // offset missing

        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("vector_add").Launch(new Dim3(1), new Dim3(32), ref arguments));
        output.WriteLine(error.Message);
        Assert.Contains("kernel 'vector_add' of module 'emulation_tests' cannot be launched", error.Message);
        Assert.Contains("it takes 5 arguments but was given 4", error.Message);
    }

    [Fact]
    public void BlockLargerThanLaunchBounds_IsRefused()
    {
        using DeviceVariable y = emulator.Context.Allocate(512 * 4);
        var arguments = new KernelArguments();
        arguments.Add(y);
        arguments.Add(512);
        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("fill_index").Launch(new Dim3(1), new Dim3(512), ref arguments));
        output.WriteLine(error.Message);
        Assert.Contains("__launch_bounds__(256) but the block has 512 threads", error.Message);
    }

    [Theory]
    [InlineData(1u, 2048u, 1u, "block (2048, 1, 1) has 2048 threads; CUDA allows 1 to 1024")]
    [InlineData(1u, 64u, 32u, "block (64, 32, 1) has 2048 threads")]
    [InlineData(0u, 32u, 1u, "empty grid (0, 1, 1)")]
    public void InvalidGridOrBlock_IsAnError(uint gridX, uint blockX, uint blockY, string expected)
    {
        using DeviceVariable x = emulator.Context.Allocate(4);
        var arguments = new KernelArguments();
        arguments.Add(x);
        arguments.Add(0);
        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("early_exit_then_sync").Launch(new Dim3(gridX), new Dim3(blockX, blockY), ref arguments));
        output.WriteLine(error.Message);
        Assert.Contains("kernel 'early_exit_then_sync'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void PointerArgumentOutsideDeviceMemory_IsRefused()
    {
        // live first: allocated after the free, it could be handed the freed address, and the stale pointer would be live again.
        using DeviceVariable live = emulator.Context.Allocate(64 * 4);
        DeviceVariable freed = emulator.Context.Allocate(64 * 4);
        DevicePointer stale = freed.Pointer;
        freed.Dispose();

        var arguments = new KernelArguments();
        arguments.Add(stale);
        arguments.Add(64);
        var error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("fill_index").Launch(new Dim3(1), new Dim3(64), ref arguments));
        output.WriteLine(error.Message);
        Assert.Contains("pointer argument 0", error.Message);

        var pastTheEnd = new KernelArguments();
        pastTheEnd.Add(live.Pointer.Plus(live.Length + 1));
        pastTheEnd.Add(64);
        error = Assert.Throws<CudaException>(() => emulator.Module.GetKernel("fill_index").Launch(new Dim3(1), new Dim3(64), ref pastTheEnd));
        output.WriteLine(error.Message);
        Assert.Contains("pointer argument 0", error.Message);
    }

    [Fact]
    public void DisposedModule_CannotLaunch()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        GpuModule module = context.LoadModule(TestKernels.ModuleName, TestKernels.Source);
        GpuKernel kernel = module.GetKernel("trap_in_thread");
        module.Dispose();
        var arguments = new KernelArguments();
        arguments.Add(-1);
        Assert.Throws<ObjectDisposedException>(() => kernel.Launch(new Dim3(1), new Dim3(32), ref arguments));
    }
}
