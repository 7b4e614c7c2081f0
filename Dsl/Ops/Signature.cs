using System.Collections.Generic;

namespace ModelDsl.Ops
{
    /// <summary>What an op parameter accepts.</summary>
    public enum ParamKind
    {
        /// <summary>A tensor (the first parameter of every layer; the chain fills it).</summary>
        Tensor,
        /// <summary>Any number of tensors (concat); must be the first parameter.</summary>
        Tensors,
        Int,
        Real,
        Bool,
        /// <summary>An integer or a tuple of two equal integers (kernel sizes).</summary>
        IntOrTuple,
        /// <summary>An integer, or one of <see cref="ParamSpec.Words"/> written as a string (<c>padding="same"</c>).</summary>
        IntOrWord,
        /// <summary>One of <see cref="ParamSpec.Words"/> written as a string (<c>approximate="tanh"</c>).</summary>
        Word,
        /// <summary>The remaining positional integers, any number (<c>permute(0, 3, 1, 2)</c>); must be the last parameter.</summary>
        Ints,
        /// <summary>A list of dimensions (<c>[B, T, -1]</c>).</summary>
        List,
        /// <summary>A tuple of reals (<c>betas=(0.9, 0.999)</c>).</summary>
        RealTuple,
        /// <summary><c>layer.param</c> (weight tying).</summary>
        ParamRef,
        /// <summary>Anything (an initialiser's optional arguments).</summary>
        Any,
        /// <summary>Any constant, not a tensor (MDL0114): a block's untyped parameters after the first.</summary>
        Constant,
    }

    /// <summary>One parameter of an op: name, kind, default (null: required) and an inclusive/exclusive range.</summary>
    public sealed class ParamSpec
    {
        public ParamSpec(string name, ParamKind kind, object? defaultValue = null, double? min = null, double? max = null, bool maxExclusive = false, bool optional = false,
            IReadOnlyList<string>? words = null)
        {
            Words = words ?? new string[0];
            Name = name;
            Kind = kind;
            Default = defaultValue;
            Min = min;
            Max = max;
            MaxExclusive = maxExclusive;
            Optional = optional || defaultValue is not null;
        }

        public string Name { get; }
        public ParamKind Kind { get; }

        /// <summary>A long, double, bool or string (a <see cref="ParamKind.Word"/>); null when there is none.</summary>
        public object? Default { get; }

        public double? Min { get; }
        public double? Max { get; }
        public bool MaxExclusive { get; }

        /// <summary>May be left out (it has a default, or "none" like <c>tie</c>).</summary>
        public bool Optional { get; }

        /// <summary>The strings a <see cref="ParamKind.Word"/> parameter accepts, or an <see cref="ParamKind.IntOrWord"/> one besides integers.</summary>
        public IReadOnlyList<string> Words { get; }

        public bool IsConstant => Kind != ParamKind.Tensor && Kind != ParamKind.Tensors;

        /// <summary>The range in words for messages: "at least 1", "in [0, 1)".</summary>
        public string DescribeRange()
        {
            string F(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (Min is double lo && Max is double hi) return $"in [{F(lo)}, {F(hi)}{(MaxExclusive ? ")" : "]")}";
            if (Min is double lo2) return $"at least {F(lo2)}";
            if (Max is double hi2) return MaxExclusive ? $"below {F(hi2)}" : $"at most {F(hi2)}";
            return "valid";
        }
    }

    /// <summary>The parameter list of an op, loss or optimizer.</summary>
    public sealed class Signature
    {
        public Signature(params ParamSpec[] parameters) => Parameters = parameters;

        public IReadOnlyList<ParamSpec> Parameters { get; }

        public ParamSpec? Find(string name)
        {
            foreach (var p in Parameters)
            {
                if (p.Name == name) return p;
            }
            return null;
        }

        public static ParamSpec Tensor(string name = "x") => new ParamSpec(name, ParamKind.Tensor);
        public static ParamSpec Int(string name, long? defaultValue = null, long? min = 1, long? max = null) =>
            new ParamSpec(name, ParamKind.Int, defaultValue, min, max);
        public static ParamSpec Real(string name, double? defaultValue = null, double? min = null, double? max = null, bool maxExclusive = false) =>
            new ParamSpec(name, ParamKind.Real, defaultValue, min, max, maxExclusive);
        public static ParamSpec IntOrWord(string name, long defaultValue, long min, params string[] words) =>
            new ParamSpec(name, ParamKind.IntOrWord, defaultValue, min, words: words);
        public static ParamSpec Word(string name, string defaultValue, params string[] words) =>
            new ParamSpec(name, ParamKind.Word, defaultValue, words: words);
        public static ParamSpec Bool(string name, bool defaultValue) => new ParamSpec(name, ParamKind.Bool, defaultValue);
    }
}
