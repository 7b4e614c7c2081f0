using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Cuda.Layers;

/// <summary>One library kernel and its parsed signature: <see cref="Arguments"/> starts a launch that is checked, argument by argument, against it.</summary>
public sealed class LayerKernel
{
    private readonly GpuKernel _kernel;

    internal LayerKernel(GpuKernel kernel, KernelSignature signature)
    {
        _kernel = kernel;
        Signature = signature;
    }

    public string Name => Signature.Name;

    public KernelSignature Signature { get; }

    /// <summary>How many times it was launched.</summary>
    public long Launches { get; private set; }

    /// <summary>An empty argument list for this kernel.</summary>
    public LayerArguments Arguments() => new(Signature);

    /// <summary>Launches with <paramref name="arguments"/>, which must supply every parameter.</summary>
    public void Launch(Dim3 grid, Dim3 block, ref LayerArguments arguments)
    {
        if (!ReferenceEquals(arguments.Signature, Signature))
            throw new InvalidOperationException($"{Name}: the arguments were built for {arguments.Signature?.Name ?? "no kernel"}");
        if (arguments.Count != Signature.Parameters.Count)
            throw new InvalidOperationException($"{Name}: launched with {arguments.Count} of its {Signature.Parameters.Count} arguments; the next is {Signature.Parameters[arguments.Count]}");
        _kernel.Launch(grid, block, ref arguments.Values);
        Launches++;
    }
}

/// <summary>
/// A library kernel's arguments, checked as they are added: each must be the next parameter of the kernel's parsed
/// signature, by name and type (<c>int</c>, <c>float</c>, <c>const float*</c>, <c>float*</c>, <c>const int*</c>,
/// <c>int*</c>, <c>const unsigned int*</c>, <c>const md_bf16*</c>, <c>md_bf16*</c>, <c>const md_act*</c>, <c>md_act*</c>). A mismatch throws naming the kernel, the position, the parameter and what was passed. On the stack:
/// building and launching allocate nothing.
/// </summary>
public struct LayerArguments
{
    internal KernelArguments Values;

    internal LayerArguments(KernelSignature signature)
    {
        Signature = signature;
        Values = default;
    }

    internal KernelSignature? Signature { get; }

    public readonly int Count => Values.Count;

    /// <summary>An <c>int</c> parameter.</summary>
    public void Int(string name, int value)
    {
        Check(name, "int");
        Values.Add(value);
    }

    /// <summary>An <c>int</c> flag (<c>accumulate</c>, <c>causal</c>): 1 or 0.</summary>
    public void Flag(string name, bool value)
    {
        Check(name, "int");
        Values.Add(value ? 1 : 0);
    }

    /// <summary>A <c>float</c> parameter.</summary>
    public void Float(string name, float value)
    {
        Check(name, "float");
        Values.Add(value);
    }

    /// <summary>A <c>const float*</c> parameter.</summary>
    public void Reads(string name, DevicePointer pointer)
    {
        Check(name, "const float*");
        Values.Add(pointer);
    }

    /// <summary>A <c>float*</c> parameter.</summary>
    public void Writes(string name, DevicePointer pointer)
    {
        Check(name, "float*");
        Values.Add(pointer);
    }

    /// <summary>A <c>const int*</c> parameter (ids, pool indices).</summary>
    public void ReadsInts(string name, DevicePointer pointer)
    {
        Check(name, "const int*");
        Values.Add(pointer);
    }

    /// <summary>A <c>const unsigned int*</c> parameter (where a dropout seed lies in device memory).</summary>
    public void ReadsUInts(string name, DevicePointer pointer)
    {
        Check(name, "const unsigned int*");
        Values.Add(pointer);
    }

    /// <summary>An <c>int*</c> parameter.</summary>
    public void WritesInts(string name, DevicePointer pointer)
    {
        Check(name, "int*");
        Values.Add(pointer);
    }

    /// <summary>
    /// A <c>const md_act*</c> parameter: an activation (a value of the model graph), stored as float or as BF16 as the
    /// module was compiled (bf16.cuh's md_act; <see cref="LayerContext.ActivationBytes"/>).
    /// </summary>
    public void ReadsActivation(string name, DevicePointer pointer)
    {
        Check(name, "const md_act*");
        Values.Add(pointer);
    }

    /// <summary>An <c>md_act*</c> parameter: an activation the kernel writes (<see cref="ReadsActivation"/>).</summary>
    public void WritesActivation(string name, DevicePointer pointer)
    {
        Check(name, "md_act*");
        Values.Add(pointer);
    }

    /// <summary>A <c>const md_bf16*</c> parameter (BF16 storage, bf16.cuh).</summary>
    public void ReadsBf16(string name, DevicePointer pointer)
    {
        Check(name, "const md_bf16*");
        Values.Add(pointer);
    }

    /// <summary>An <c>md_bf16*</c> parameter.</summary>
    public void WritesBf16(string name, DevicePointer pointer)
    {
        Check(name, "md_bf16*");
        Values.Add(pointer);
    }

    private readonly void Check(string name, string type)
    {
        var signature = Signature ?? throw new InvalidOperationException("LayerArguments must come from LayerKernel.Arguments()");
        int at = Values.Count;
        if (at >= signature.Parameters.Count)
            throw new InvalidOperationException($"{signature.Name}: takes {signature.Parameters.Count} arguments, but a launcher adds '{type} {name}' after them");
        var expected = signature.Parameters[at];
        if (!string.Equals(expected.Name, name, StringComparison.Ordinal) || !string.Equals(expected.Type, type, StringComparison.Ordinal))
            throw new InvalidOperationException($"{signature.Name}: argument {at + 1} is '{expected}' in its declaration, but a launcher passes '{type} {name}'");
    }
}
