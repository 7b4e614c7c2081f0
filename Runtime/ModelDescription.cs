using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>
/// What a <c>.model</c> file declares about one model, after checking: inputs, labels and output with their
/// shapes, every layer with its output shape, every parameter, the loss and the optimizer. The source generator
/// builds one as the <c>Description</c> property of each generated model class; <see cref="Summary"/> prints it.
/// Immutable.
/// </summary>
public sealed class ModelDescription
{
    public ModelDescription(
        string name,
        string sourceFile,
        int line,
        TensorDescription[] inputs,
        TensorDescription[] labels,
        TensorDescription output,
        string[] symbolicDimensions,
        LayerDescription[] layers,
        ParameterDescription[] parameters,
        string? loss,
        string? optimizer,
        KeyValuePair<string, double>[] optimizerHyperparameters)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(sourceFile);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(symbolicDimensions);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizerHyperparameters);
        Name = name;
        SourceFile = sourceFile;
        Line = line;
        Inputs = (TensorDescription[])inputs.Clone();
        Labels = (TensorDescription[])labels.Clone();
        Output = output;
        SymbolicDimensions = (string[])symbolicDimensions.Clone();
        Layers = (LayerDescription[])layers.Clone();
        Parameters = (ParameterDescription[])parameters.Clone();
        Loss = loss;
        Optimizer = optimizer;
        OptimizerHyperparameters = (KeyValuePair<string, double>[])optimizerHyperparameters.Clone();
        ParameterCount = Parameters.Sum(parameter => parameter.Count);
    }

    /// <summary>The model's name, which is also its C# class name.</summary>
    public string Name { get; }

    /// <summary>The <c>.model</c> file's name, <c>fashion_mlp.model</c>.</summary>
    public string SourceFile { get; }

    /// <summary>One-based line of the <c>model</c> declaration.</summary>
    public int Line { get; }

    /// <summary>What the caller passes to Forward/Predict, in declaration order.</summary>
    public IReadOnlyList<TensorDescription> Inputs { get; }

    /// <summary>Training targets, read only by the loss.</summary>
    public IReadOnlyList<TensorDescription> Labels { get; }

    /// <summary>The first output: what <c>Forward</c> returns.</summary>
    public TensorDescription Output { get; }

    /// <summary>
    /// Every <c>output</c> line in declaration order, <see cref="Output"/> first: what <c>ForwardAll</c> returns when there
    /// are several. A one-output model's is <c>[Output]</c>. The generator sets it only for models with several outputs.
    /// </summary>
    public IReadOnlyList<TensorDescription> Outputs
    {
        get => _outputs ?? [Output];
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0 || value[0].Name != Output.Name)
                throw new ArgumentException($"Outputs must start with Output ({Output})", nameof(Outputs));
            _outputs = value.ToArray();
        }
    }

    private readonly TensorDescription[]? _outputs;

    /// <summary>Symbolic dimensions (<c>B</c>, <c>T</c>) in order of first appearance; they bind at each call.</summary>
    public IReadOnlyList<string> SymbolicDimensions { get; }

    /// <summary>Every operation in execution order, blocks and repeats expanded.</summary>
    public IReadOnlyList<LayerDescription> Layers { get; }

    /// <summary>Trainable parameters in definition order; a tied parameter appears once.</summary>
    public IReadOnlyList<ParameterDescription> Parameters { get; }

    /// <summary>The loss as the language spells it (<c>cross_entropy</c>), or null when the model declares none.</summary>
    public string? Loss { get; }

    /// <summary>The optimizer as the language spells it (<c>adamw</c>), or null when the model declares none.</summary>
    public string? Optimizer { get; }

    /// <summary>Every optimizer hyperparameter, defaults filled in, in a fixed order (<c>lr</c> first).</summary>
    public IReadOnlyList<KeyValuePair<string, double>> OptimizerHyperparameters { get; }

    /// <summary>The total number of trainable parameter elements.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// A readable table of the model, like PyTorch's module printout or Keras' <c>summary()</c>:
    /// a header, then one row per layer (path, op, output shape, parameters, line), then totals, loss and optimizer.
    /// </summary>
    public string Summary()
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        var builder = new StringBuilder();
        builder.Append(invariant, $"{Name} ({SourceFile}:{Line})\n");
        builder.Append("  inputs:    ").Append(string.Join(", ", Inputs)).Append('\n');
        if (Labels.Count > 0)
        {
            builder.Append("  labels:    ").Append(string.Join(", ", Labels)).Append('\n');
        }

        if (Outputs.Count > 1) builder.Append("  outputs:   ").Append(string.Join(", ", Outputs)).Append('\n');
        else builder.Append("  output:    ").Append(Output).Append('\n');
        if (SymbolicDimensions.Count > 0)
        {
            builder.Append("  symbolic:  ").Append(string.Join(", ", SymbolicDimensions)).Append('\n');
        }

        string[] header = ["layer", "op", "output", "params", "line"];
        string[][] rows = Layers
            .Select(layer => new[]
            {
                layer.Path,
                layer.Op,
                layer.OutputShape,
                layer.ParameterCount.ToString("N0", invariant),
                layer.Line.ToString(invariant),
            })
            .ToArray();
        int[] widths = Enumerable.Range(0, header.Length)
            .Select(column => rows.Select(row => row[column].Length).Append(header[column].Length).Max())
            .ToArray();

        void AppendRow(string[] cells)
        {
            builder.Append("  ");
            for (int column = 0; column < cells.Length; column++)
            {
                bool numeric = column >= 3;
                string cell = numeric ? cells[column].PadLeft(widths[column]) : cells[column].PadRight(widths[column]);
                builder.Append(cell);
                if (column < cells.Length - 1)
                {
                    builder.Append("  ");
                }
            }

            builder.Append('\n');
        }

        builder.Append('\n');
        AppendRow(header);
        AppendRow(widths.Select(width => new string('-', width)).ToArray());
        foreach (string[] row in rows)
        {
            AppendRow(row);
        }

        builder.Append('\n');
        builder.Append(invariant, $"  parameters: {ParameterCount:N0} in {Parameters.Count} tensors\n");
        builder.Append("  loss:       ").Append(Loss ?? "(none)").Append('\n');
        builder.Append("  optimizer:  ").Append(Optimizer is null ? "(none)" : Optimizer + "(" + FormatHyperparameters() + ")").Append('\n');
        return builder.ToString();
    }

    /// <summary>The same as <see cref="Summary"/>.</summary>
    public override string ToString() => Summary();

    private string FormatHyperparameters() =>
        string.Join(", ", OptimizerHyperparameters.Select(pair => pair.Key + "=" + pair.Value.ToString("R", CultureInfo.InvariantCulture)));
}
