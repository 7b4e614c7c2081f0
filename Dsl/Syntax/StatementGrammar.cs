using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Statements of model and block bodies. Each keyword statement commits once its keyword is read (<c>XOr</c>),
    /// so an error inside it is reported at the bad token rather than as "expected statement". Whether a statement
    /// is allowed in a model or a block is the binder's business (MDL0210), so both bodies use <see cref="Statement"/>.
    /// </summary>
    internal static class StatementGrammar
    {
        /// <summary><c>f32[B, 784]</c></summary>
        public static readonly Parser<TensorTypeSyntax> TensorType =
            from dtype in Lexical.Identifier.Named("element type")
            from open in Lexical.Symbol('[')
            from dimensions in ExpressionGrammar.OptionalExpressionList
            from close in Lexical.Symbol(']')
            select new TensorTypeSyntax(dtype, dimensions.GetOrElse(new ExpressionSyntax[0]), dtype.Span.Cover(close));

        /// <summary><c>input x: f32[B, 784]</c> and <c>label y: i32[B]</c></summary>
        private static readonly Parser<StatementSyntax> Input =
            from keyword in Lexical.Keyword("input").Select(span => (IsLabel: false, Span: span))
                .XOr(Lexical.Keyword("label").Select(span => (IsLabel: true, Span: span)))
            from name in Lexical.Identifier
            from colon in Lexical.Symbol(':')
            from type in TensorType
            select (StatementSyntax)new InputSyntax(keyword.IsLabel, name, type, keyword.Span.Cover(type.Span));

        /// <summary><c>output logits</c></summary>
        private static readonly Parser<StatementSyntax> Output =
            from keyword in Lexical.Keyword("output")
            from value in ExpressionGrammar.Expression
            select (StatementSyntax)new OutputSyntax(value, keyword.Cover(value.Span));

        private static readonly Parser<CallSyntax> LossCall = ExpressionGrammar.Call.Named("loss call");
        private static readonly Parser<CallSyntax> OptimizerCall = ExpressionGrammar.Call.Named("optimizer call");

        /// <summary><c>loss cross_entropy(logits, y)</c></summary>
        private static readonly Parser<StatementSyntax> Loss =
            from keyword in Lexical.Keyword("loss")
            from call in LossCall
            select (StatementSyntax)new LossSyntax(call, keyword.Cover(call.Span));

        /// <summary><c>optimizer adamw(lr=1e-3)</c></summary>
        private static readonly Parser<StatementSyntax> Optimizer =
            from keyword in Lexical.Keyword("optimizer")
            from call in OptimizerCall
            select (StatementSyntax)new OptimizerSyntax(call, keyword.Cover(call.Span));

        /// <summary>
        /// <c>init h.*.weight normal(0, 0.02)</c>, <c>init *.bias zeros</c>. <c>init</c> is not reserved: the keyword and
        /// the pattern are read atomically, so <c>init = x -> dense(3)</c> still binds a name <c>init</c>.
        /// </summary>
        private static readonly Parser<StatementSyntax> Init =
            from head in (from keyword in Lexical.Keyword("init")
                          from pattern in Lexical.NamePattern
                          select (Keyword: keyword, Pattern: pattern)).Atomic()
            from initializer in ExpressionGrammar.CallOrName.Named("initialiser")
            select (StatementSyntax)new InitSyntax(head.Pattern, initializer, head.Keyword.Cover(initializer.Span));

        /// <summary>
        /// The training controls, words that begin a statement only where they are used so (not reserved: a binding may
        /// still be named <c>schedule</c> or <c>freeze</c>, since a binding's name is followed by <c>=</c>).
        /// A control is a call itself (<c>clip_grad_norm(1.0)</c>), or, for <c>schedule</c>, the word followed by a call
        /// naming the kind (<c>schedule cosine(warmup=100)</c>), like <c>optimizer</c>.
        /// </summary>
        public static readonly string[] ControlWords = { "clip_grad_norm", "schedule" };

        /// <summary>Words that begin a training-control statement (recovery resumes at them): the controls, <c>freeze</c>, <c>group</c>, <c>precision</c> and <c>recompute</c>.</summary>
        private static readonly string[] ControlStatementWords = { "clip_grad_norm", "schedule", "freeze", "group", "precision", "recompute" };

        /// <summary>
        /// A control statement. The head is read atomically, so anything else (a binding named <c>freeze</c>) is left to
        /// the next alternative untouched: the word, then for <c>schedule</c> the kind's name, for the others a peek at
        /// <c>(</c>. Then it commits, and an error inside the arguments lands on the bad token. One word scan per
        /// statement that is not a control (the 1 MiB parse test keeps this cheap).
        /// </summary>
        private static readonly Parser<StatementSyntax> Control =
            from head in (from word in Lexical.Identifier.Where(id => ControlWords.Contains(id.Text))
                          from callee in word.Text == "schedule"
                              ? Lexical.Identifier
                              : Lexical.Symbol('(').Preview().Where(open => open.IsDefined).Select(_ => word)
                          select (word, callee)).Atomic()
            from arguments in ExpressionGrammar.ArgumentList
            let call = new CallSyntax(head.callee, arguments.Arguments, head.callee.Span.Cover(arguments.Close))
            select (StatementSyntax)new ControlSyntax(head.word, call, head.word.Span.Cover(arguments.Close));

        /// <summary>
        /// <c>freeze tok, h.1.0, *.bias</c>: the word and the first pattern read atomically (so <c>freeze = …</c> still
        /// binds a name), then a comma-separated list of init's name patterns.
        /// </summary>
        private static readonly Parser<StatementSyntax> Freeze =
            from head in (from word in Lexical.Identifier.Where(id => id.Text == "freeze")
                          from first in Lexical.NamePattern
                          select (word, first)).Atomic()
            from rest in (from comma in Lexical.Symbol(',')
                          from pattern in Lexical.NamePattern
                          select pattern).Repeated()
            let patterns = new[] { head.first }.Concat(rest).ToList()
            select (StatementSyntax)new FreezeSyntax(head.word, patterns, head.word.Span.Cover(patterns[patterns.Count - 1].Span));

        /// <summary>
        /// <c>precision bf16</c>: the word and the mode, one identifier, read atomically, so <c>precision = …</c> still binds a
        /// name (the word is not reserved). The binder checks the mode (MDL0125).
        /// </summary>
        private static readonly Parser<StatementSyntax> Precision =
            (from word in Lexical.Identifier.Where(id => id.Text == "precision")
             from mode in Lexical.Identifier.Named("precision (fp32, tf32 or bf16)")
             select (StatementSyntax)new PrecisionSyntax(word, mode, word.Span.Cover(mode.Span))).Atomic();

        /// <summary>
        /// <c>recompute TransformerBlock, EncoderLayer</c>: the word and the first block name read atomically (so <c>recompute = …</c>
        /// still binds a name: the word is not reserved), then more names after commas. The binder checks each names a block
        /// the model uses (MDL0126) and that it can be recomputed (MDL0223).
        /// </summary>
        private static readonly Parser<StatementSyntax> Recompute =
            from head in (from word in Lexical.Identifier.Where(id => id.Text == "recompute")
                          from first in Lexical.Identifier.Named("block name")
                          select (word, first)).Atomic()
            from rest in (from comma in Lexical.Symbol(',')
                          from name in Lexical.Identifier.Named("block name")
                          select name).Repeated()
            let blocks = new[] { head.first }.Concat(rest).ToList()
            select (StatementSyntax)new RecomputeSyntax(head.word, blocks, head.word.Span.Cover(blocks[blocks.Count - 1].Span));

        /// <summary>
        /// <c>group no_decay(weight_decay=0) *bias, *_norm.weight</c>: the word, the group's name and the <c>(</c> read
        /// atomically (so <c>group = …</c> still binds a name), then the options as a call's arguments and freeze's
        /// comma-separated patterns.
        /// </summary>
        private static readonly Parser<StatementSyntax> Group =
            from head in (from word in Lexical.Identifier.Where(id => id.Text == "group")
                          from name in Lexical.Identifier
                          from open in Lexical.Symbol('(').Preview().Where(o => o.IsDefined)
                          select (word, name)).Atomic()
            from arguments in ExpressionGrammar.ArgumentList
            from first in Lexical.NamePattern
            from rest in (from comma in Lexical.Symbol(',')
                          from pattern in Lexical.NamePattern
                          select pattern).Repeated()
            let patterns = new[] { first }.Concat(rest).ToList()
            let options = new CallSyntax(head.name, arguments.Arguments, head.name.Span.Cover(arguments.Close))
            select (StatementSyntax)new GroupSyntax(head.word, options, patterns, head.word.Span.Cover(patterns[patterns.Count - 1].Span));

        /// <summary><c>axis=0</c> inside <c>concat(...)</c>; read atomically so a source named <c>axis...</c> still parses as a name.</summary>
        private static readonly Parser<NumberSyntax> MapAxis =
            (from name in Lexical.Keyword("axis")
             from eq in Lexical.Symbol('=')
             select 0).Atomic()
            .Then(_ => Lexical.Number);

        /// <summary><c>transpose(a)</c> or <c>concat(a, b, axis=0)</c>: a function name directly followed by <c>(</c>.</summary>
        private static readonly Parser<MapSourceSyntax> MapCall =
            from head in (from function in Lexical.Identifier
                          from open in Lexical.Symbol('(')
                          select function).Atomic()
            from first in Parse.Ref(() => MapSource)
            from rest in (from comma in Lexical.Symbol(',')
                          from item in MapAxis.Select(n => (Axis: (NumberSyntax?)n, Source: (MapSourceSyntax?)null))
                              .XOr(Parse.Ref(() => MapSource).Select(m => (Axis: (NumberSyntax?)null, Source: (MapSourceSyntax?)m)))
                          select item).Repeated()
            from close in Lexical.Symbol(')')
            select (MapSourceSyntax)new MapCallSyntax(head,
                new[] { first }.Concat(rest.Where(r => r.Source is not null).Select(r => r.Source!)).ToList(),
                rest.Select(r => r.Axis).LastOrDefault(a => a is not null),
                head.Span.Cover(close));

        /// <summary>A checkpoint name or a call on sources.</summary>
        private static readonly Parser<MapSourceSyntax> MapSource =
            MapCall.XOr(Lexical.MapName.Select(n => (MapSourceSyntax)new MapTensorSyntax(n, n.Span))).Named("checkpoint name or transpose(...)/concat(...)");

        /// <summary><c>target &lt;- source</c></summary>
        private static readonly Parser<MapEntrySyntax> MapEntry =
            from target in Lexical.MapName.Named("parameter name")
            from arrow in Lexical.LeftArrow
            from source in MapSource
            select new MapEntrySyntax(target, source, target.Span.Cover(source.Span));

        /// <summary>
        /// <c>pretrained</c> followed by a file or a <c>{</c>. Not reserved: otherwise (<c>pretrained = x -> dense(3)</c>)
        /// it fails without consuming and the line is read as a binding.
        /// </summary>
        private static readonly Parser<TextSpan> PretrainedWord = Lexical.Keyword("pretrained");

        private static readonly Parser<TextSpan> PretrainedKeyword = i =>
        {
            var keyword = PretrainedWord(i);
            if (!keyword.WasSuccessful) return keyword;
            int next = Lexical.SkipTrivia(i.Source, keyword.Remainder.Position);
            return next < i.Source.Length && (i.Source[next] == '"' || i.Source[next] == '{')
                ? keyword
                : Result.Failure<TextSpan>(i, "unexpected token", new[] { "'pretrained'" });
        };

        /// <summary>
        /// <c>pretrained "file.safetensors" { entries }</c>; the file and the block are each optional
        /// (<c>pretrained "file"</c> loads by the model's own names; <c>pretrained { ... }</c> takes the file at run time).
        /// </summary>
        private static readonly Parser<StatementSyntax> Pretrained =
            from keyword in PretrainedKeyword
            from file in Lexical.String.XOptional()
            from block in (from open in Lexical.Symbol('{')
                           from entries in MapEntry.Repeated()
                           from close in Lexical.Symbol('}')
                           select (Entries: entries.ToList(), Close: close)).XOptional()
            select (StatementSyntax)new PretrainedSyntax(file.GetOrDefault(), block.IsDefined ? block.Get().Entries : new List<MapEntrySyntax>(),
                keyword.Cover(block.IsDefined ? block.Get().Close : file.IsDefined ? file.Get().Span : keyword));

        /// <summary><c>return r + m</c></summary>
        private static readonly Parser<StatementSyntax> Return =
            from keyword in Lexical.Keyword("return")
            from value in ExpressionGrammar.Expression
            select (StatementSyntax)new ReturnSyntax(value, keyword.Cover(value.Span));

        /// <summary><c>name = expression</c>. <c>name =</c> is read atomically, so a stray word fails as "expected statement" at the word.</summary>
        private static readonly Parser<Identifier> BindingName =
            (from id in Lexical.Identifier
             from eq in Lexical.Symbol('=')
             select id).Atomic();

        private static readonly Parser<StatementSyntax> Binding =
            from name in BindingName
            from value in ExpressionGrammar.Expression
            select (StatementSyntax)new BindingSyntax(name, value, name.Span.Cover(value.Span));

        public static readonly Parser<StatementSyntax> Statement =
            Input.XOr(Output).XOr(Loss).XOr(Optimizer).XOr(Init).XOr(Pretrained).XOr(Return).XOr(Control).XOr(Freeze).XOr(Group).XOr(Precision).XOr(Recompute).XOr(Binding).Named("statement");

        /// <summary>The words that begin a statement; recovery resumes at a line starting with one of them.</summary>
        public static readonly string[] StatementKeywords = { "input", "label", "output", "loss", "optimizer", "init", "pretrained", "return" };

        internal static bool StartsStatement(string word) => StatementKeywords.Contains(word) || ControlStatementWords.Contains(word);
    }
}
