using System;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>One emulated context with <see cref="TestKernels"/> loaded, shared by a test class (compiled once; cached on disk after that).</summary>
public sealed class EmulatorFixture : IDisposable
{
    public EmulatorFixture()
    {
        Context = GpuContext.OpenEmulated();
        Module = Context.LoadModule(TestKernels.ModuleName, TestKernels.Source);
    }

    public GpuContext Context { get; }

    public GpuModule Module { get; }

    /// <summary>A device copy of <paramref name="values"/>.</summary>
    public DeviceVariable Upload<T>(T[] values) where T : unmanaged
    {
        DeviceVariable variable = Context.Allocate((long)values.Length * 4);
        variable.CopyFrom<T>(values);
        return variable;
    }

    public T[] Download<T>(DeviceVariable variable) where T : unmanaged
    {
        var values = new T[variable.Length];
        variable.CopyTo<T>(values);
        return values;
    }

    public void Dispose()
    {
        Module.Dispose();
        Context.Dispose();
    }
}
