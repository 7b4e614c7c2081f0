using System;
using System.Runtime.CompilerServices;

namespace ModelDsl.Cuda.Tests.Interop;

public class KernelArgumentsTests
{
    private static ulong Slot(ref KernelArguments arguments, int index) => Unsafe.Add(ref arguments.First, index);

    [Fact]
    public void Add_PacksIntUintFloatAndPointerIntoOwnEightByteSlots()
    {
        var arguments = new KernelArguments();
        arguments.Add(-7);
        arguments.Add(uint.MaxValue);
        arguments.Add(1.5f);
        arguments.Add(new DevicePointer(0x7f00_1234_5678));
        arguments.Add(int.MinValue);

        Assert.Equal(5, arguments.Count);
        Assert.Equal(0x0000_0000_FFFF_FFF9UL, Slot(ref arguments, 0)); // zero-extended: the upper half is never garbage
        Assert.Equal(0x0000_0000_FFFF_FFFFUL, Slot(ref arguments, 1));
        Assert.Equal(0x3FC0_0000UL, Slot(ref arguments, 2));
        Assert.Equal(0x7f00_1234_5678UL, Slot(ref arguments, 3));
        Assert.Equal(0x8000_0000UL, Slot(ref arguments, 4));
    }

    [Fact]
    public unsafe void Slots_ReadAsTheParameterType_GiveTheValue()
    {
        // cuLaunchKernel reads sizeof(parameter) bytes at kernelParams[i].
        var arguments = new KernelArguments();
        arguments.Add(-7);
        arguments.Add(-0.25f);
        arguments.Add(new DevicePointer(0xdead_beef_0000));

        fixed (ulong* slots = &arguments.First)
        {
            Assert.Equal(-7, *(int*)(slots + 0));
            Assert.Equal(-0.25f, *(float*)(slots + 1));
            Assert.Equal(0xdead_beef_0000UL, *(ulong*)(slots + 2));
        }
    }

    [Fact]
    public unsafe void FillPointers_GivesEachSlotsAddress()
    {
        var arguments = new KernelArguments();
        for (int i = 0; i < 3; i++) arguments.Add(i);
        void** pointers = stackalloc void*[KernelArguments.Capacity];

        fixed (ulong* slots = &arguments.First)
        {
            arguments.FillPointers(slots, pointers);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal((nint)(slots + i), (nint)pointers[i]);
                Assert.Equal(i, *(int*)pointers[i]);
            }
        }
    }

    [Fact]
    public void Add_BeyondCapacity_Throws()
    {
        var arguments = new KernelArguments();
        for (int i = 0; i < KernelArguments.Capacity; i++) arguments.Add(i);

        var error = Assert.Throws<InvalidOperationException>(() => arguments.Add(0));
        Assert.Equal($"a kernel launch takes at most {KernelArguments.Capacity} arguments", error.Message);
    }
}
