namespace ModelDsl.Generator.Model
{
    /// <summary>One operation after blocks and repeats are expanded: <c>logits.0 = dense(units=256, bias=true) -> [B, 256]</c>.</summary>
    public sealed record LayerSpec
    {
        /// <summary>The PyTorch-style module path (<c>logits.0</c>, <c>h.2.a.1</c>).</summary>
        public required string Path { get; init; }

        /// <summary>The op's name in the language (<c>dense</c>, <c>max_pool2d</c>).</summary>
        public required string Op { get; init; }

        /// <summary>The resolved attributes, as written in a call: <c>units=256, bias=true</c> (empty when none).</summary>
        public required string Attributes { get; init; }

        /// <summary>The output shape, <c>[B, 256]</c>.</summary>
        public required string OutputShape { get; init; }

        /// <summary>Elements in the parameters this layer owns (tied parameters count at their owner).</summary>
        public required long ParameterCount { get; init; }

        public required int Line { get; init; }
    }
}
