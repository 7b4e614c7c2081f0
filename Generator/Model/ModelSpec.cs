using ModelDsl.Generator.Helpers;

namespace ModelDsl.Generator.Model
{
    /// <summary>One checked model: what becomes <c>public sealed partial class {Name}</c>.</summary>
    public sealed record ModelSpec
    {
        /// <summary>The model's name as declared; also the C# class name.</summary>
        public required string Name { get; init; }

        /// <summary>The <c>.model</c> file name, e.g. <c>fashion_mlp.model</c>.</summary>
        public required string SourceFileName { get; init; }

        /// <summary>One-based line of the <c>model Name</c> declaration.</summary>
        public required int Line { get; init; }

        public required EquatableArray<TensorSpec> Inputs { get; init; }

        public required EquatableArray<TensorSpec> Labels { get; init; }

        public required TensorSpec Output { get; init; }

        /// <summary>Every output line in order (the first is <see cref="Output"/>).</summary>
        public required EquatableArray<TensorSpec> Outputs { get; init; }

        public required EquatableArray<string> SymbolicDimensions { get; init; }

        public required EquatableArray<LayerSpec> Layers { get; init; }

        public required EquatableArray<ParameterSpec> Parameters { get; init; }

        /// <summary>The loss as written in the language (<c>cross_entropy</c>), or null when the model declares none.</summary>
        public required LossSpec? Loss { get; init; }

        public required OptimizerSpec? Optimizer { get; init; }

        public required long ParameterCount { get; init; }

        /// <summary>
        /// The training half of the class (parameters, forward, loss, backward, optimizer) with the namespace left as
        /// <c>ModelGenerator.SpecBuilder.NamespacePlaceholder</c>; null while the model uses an op without generated kernels.
        /// </summary>
        public required string? TrainingSource { get; init; }

        /// <summary>The GPU half (<c>{Model}.Gpu.g.cs</c>, with the CUDA C inside), emitted when the project references ModelDsl.Cuda; null like <see cref="TrainingSource"/>.</summary>
        public required string? GpuSource { get; init; }
    }
}
