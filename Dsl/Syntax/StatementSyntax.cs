using System.Collections.Generic;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    public abstract record StatementSyntax(TextSpan Span) : SyntaxNode(Span);

    /// <summary><c>input x: f32[B, 784]</c> or, with <see cref="IsLabel"/>, <c>label y: i32[B]</c>.</summary>
    public sealed record InputSyntax(bool IsLabel, Identifier Name, TensorTypeSyntax Type, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>f32[B, 784]</c>: an element type and dimensions (integers, symbols, or arithmetic on config constants).</summary>
    public sealed record TensorTypeSyntax(Identifier DType, IReadOnlyList<ExpressionSyntax> Dimensions, TextSpan Span) : SyntaxNode(Span);

    /// <summary><c>h = x -> dense(256) -> relu</c></summary>
    public sealed record BindingSyntax(Identifier Name, ExpressionSyntax Value, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>output logits</c>: what <c>Forward</c>/<c>Predict</c> return.</summary>
    public sealed record OutputSyntax(ExpressionSyntax Value, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>loss cross_entropy(logits, y)</c></summary>
    public sealed record LossSyntax(CallSyntax Call, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>optimizer adamw(lr=1e-3, weight_decay=0.01)</c></summary>
    public sealed record OptimizerSyntax(CallSyntax Call, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// <c>init h.*.weight normal(0, 0.02)</c>: every parameter whose name matches <see cref="Pattern"/> starts from
    /// <see cref="Initializer"/> (a <see cref="CallSyntax"/>, or a <see cref="NameSyntax"/> such as <c>zeros</c>).
    /// </summary>
    public sealed record InitSyntax(NamePattern Pattern, ExpressionSyntax Initializer, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>h.*.weight</c>: a parameter name with <c>*</c> standing for any run of characters.</summary>
    public sealed record NamePattern(string Text, TextSpan Span) : SyntaxNode(Span);

    /// <summary>
    /// <c>pretrained "minilm.safetensors" { tok.weight &lt;- embeddings.word_embeddings.weight ... }</c>: where the
    /// parameters come from (<see cref="File"/>, relative to the .model file; null: given at run time) and how the
    /// checkpoint's names map onto the model's (<see cref="Entries"/>; a parameter no entry names reads its own name).
    /// </summary>
    public sealed record PretrainedSyntax(StringSyntax? File, IReadOnlyList<MapEntrySyntax> Entries, TextSpan Span) : StatementSyntax(Span);

    /// <summary><c>h.{i}.attn.in_proj_weight &lt;- concat(encoder.layer.{i}.attention.self.query.weight, ...)</c>: parameters matching <see cref="Target"/> from <see cref="Source"/>.</summary>
    public sealed record MapEntrySyntax(NamePattern Target, MapSourceSyntax Source, TextSpan Span) : SyntaxNode(Span);

    /// <summary>The right side of a map entry: a checkpoint name, or <c>transpose(...)</c> / <c>concat(..., axis=0)</c> of sources.</summary>
    public abstract record MapSourceSyntax(TextSpan Span) : SyntaxNode(Span);

    /// <summary><c>encoder.layer.{i}.attention.self.query.weight</c>: a checkpoint tensor name, <c>{i}</c> filled from the target.</summary>
    public sealed record MapTensorSyntax(NamePattern Name, TextSpan Span) : MapSourceSyntax(Span);

    /// <summary><c>transpose(a)</c>, <c>concat(a, b, c, axis=0)</c>; <see cref="Axis"/> is the <c>axis=</c> value when given.</summary>
    public sealed record MapCallSyntax(Identifier Function, IReadOnlyList<MapSourceSyntax> Arguments, NumberSyntax? Axis, TextSpan Span) : MapSourceSyntax(Span);

    /// <summary><c>return x + m</c>: the value a block produces.</summary>
    public sealed record ReturnSyntax(ExpressionSyntax Value, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// A training control (docs/training.md "Training controls"): <c>schedule cosine(warmup=100)</c> (<see cref="Word"/>
    /// <c>schedule</c>, <see cref="Call"/> <c>cosine(...)</c>), or <c>clip_grad_norm(1.0)</c> (the call is the whole
    /// statement, its callee the word).
    /// </summary>
    public sealed record ControlSyntax(Identifier Word, CallSyntax Call, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// <c>freeze tok, h.1.0</c>: parameters that keep their values (docs/training.md "Frozen parameters"). Each pattern is
    /// init's (<c>*</c> any run of characters) and matches a parameter's full name or a layer or block path above it.
    /// </summary>
    public sealed record FreezeSyntax(Identifier Word, IReadOnlyList<NamePattern> Patterns, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// <c>precision bf16</c>: the arithmetic of the model's GPU session (docs/cuda.md "Precision"): <c>fp32</c>, <c>tf32</c>
    /// or <c>bf16</c>. The CPU code always computes in FP32.
    /// </summary>
    public sealed record PrecisionSyntax(Identifier Word, Identifier Mode, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// <c>group no_decay(weight_decay=0) *bias, *_norm.weight</c>: a parameter group (docs/training.md "Parameter groups"):
    /// <see cref="Options"/> is a call whose callee is the group's name and whose arguments are its options; each pattern is
    /// freeze's and names the parameters the options apply to.
    /// </summary>
    public sealed record GroupSyntax(Identifier Word, CallSyntax Options, IReadOnlyList<NamePattern> Patterns, TextSpan Span) : StatementSyntax(Span);

    /// <summary>
    /// <c>recompute TransformerBlock</c>: the activations of every instance of the named blocks are recomputed in the backward
    /// pass instead of kept (docs/language.md "Activation recomputation"; PyTorch's <c>torch.utils.checkpoint</c>).
    /// </summary>
    public sealed record RecomputeSyntax(Identifier Word, IReadOnlyList<Identifier> Blocks, TextSpan Span) : StatementSyntax(Span);

    /// <summary>A statement that failed to parse; the parser reported why and skipped to the next line.</summary>
    public sealed record ErrorStatementSyntax(TextSpan Span) : StatementSyntax(Span);
}
