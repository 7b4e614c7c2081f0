using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace ModelDsl.Cuda;

/// <summary>
/// A kernel's arguments in declaration order, built on the stack so a launch allocates nothing. Each argument sits in
/// its own 8-byte slot; <c>cuLaunchKernel</c> (and the emulator's thunks) read <c>sizeof(parameter)</c> bytes from each
/// slot's address, which on a little-endian machine is the value for 4-byte ints and floats as well.
/// </summary>
public struct KernelArguments
{
    public const int Capacity = 32;

    private Slots _slots;
    private int _count;

    public readonly int Count => _count;

    public void Add(int value) => Slot() = (ulong)(uint)value;

    public void Add(uint value) => Slot() = value;

    public void Add(float value) => Slot() = BitConverter.SingleToUInt32Bits(value);

    public void Add(DevicePointer pointer) => Slot() = pointer.Address;

    public void Add(DeviceVariable variable) => Slot() = variable.Pointer.Address;

    [UnscopedRef]
    private ref ulong Slot()
    {
        if (_count == Capacity) throw new InvalidOperationException($"a kernel launch takes at most {Capacity} arguments");
        return ref _slots[_count++];
    }

    /// <summary>The address of each slot, as <c>cuLaunchKernel</c>'s <c>kernelParams</c> wants them.</summary>
    internal readonly unsafe void FillPointers(ulong* slotsBase, void** pointers)
    {
        for (int i = 0; i < _count; i++) pointers[i] = slotsBase + i;
    }

    /// <summary>The slot storage, pinned by the caller (it lives on the caller's stack).</summary>
    [UnscopedRef]
    internal ref ulong First => ref _slots[0];

    [InlineArray(Capacity)]
    private struct Slots
    {
        private ulong _element;
    }
}
