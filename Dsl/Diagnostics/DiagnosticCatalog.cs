using System.Collections.Generic;

namespace ModelDsl.Diagnostics
{
    /// <summary>
    /// Every diagnostic ModelDsl can report, one descriptor per ID. IDs are stable: never renumber or reuse one.
    /// Ranges: MDL00xx text and syntax, MDL01xx names and arguments, MDL02xx model structure, MDL03xx shapes and types.
    /// docs/diagnostics.md lists each with an example; a test checks that the two agree.
    /// </summary>
    public static class DiagnosticCatalog
    {
        private const string Syntax = "ModelDsl.Syntax";
        private const string Names = "ModelDsl.Names";
        private const string Structure = "ModelDsl.Structure";
        private const string Shapes = "ModelDsl.Shapes";

        private static DiagnosticDescriptor Error(string id, string category, string title) => new DiagnosticDescriptor(id, DiagnosticSeverity.Error, title, category);
        private static DiagnosticDescriptor Warning(string id, string category, string title) => new DiagnosticDescriptor(id, DiagnosticSeverity.Warning, title, category);

        // MDL00xx: the text could not be read as a .model file.
        public static readonly DiagnosticDescriptor SyntaxError = Error("MDL0001", Syntax, "Syntax error");
        public static readonly DiagnosticDescriptor InvalidNumber = Error("MDL0002", Syntax, "Number literal out of range");
        public static readonly DiagnosticDescriptor NestingTooDeep = Error("MDL0003", Syntax, "Nesting too deep");
        public static readonly DiagnosticDescriptor InvalidText = Error("MDL0004", Syntax, "File is not text");
        public static readonly DiagnosticDescriptor FileTooLarge = Error("MDL0005", Syntax, "File too large");
        public static readonly DiagnosticDescriptor NoModel = Warning("MDL0006", Syntax, "File declares no model");

        // MDL01xx: names, calls and arguments.
        public static readonly DiagnosticDescriptor UndefinedName = Error("MDL0100", Names, "Undefined name");
        public static readonly DiagnosticDescriptor DuplicateName = Error("MDL0101", Names, "Name defined twice");
        public static readonly DiagnosticDescriptor UnknownLayer = Error("MDL0102", Names, "Unknown layer or block");
        public static readonly DiagnosticDescriptor UnknownArgument = Error("MDL0103", Names, "Unknown named argument");
        public static readonly DiagnosticDescriptor MissingArgument = Error("MDL0104", Names, "Missing argument");
        public static readonly DiagnosticDescriptor TooManyArguments = Error("MDL0105", Names, "Too many arguments");
        public static readonly DiagnosticDescriptor DuplicateArgument = Error("MDL0106", Names, "Argument given twice");
        public static readonly DiagnosticDescriptor ArgumentType = Error("MDL0107", Names, "Argument of the wrong kind");
        public static readonly DiagnosticDescriptor ArgumentOutOfRange = Error("MDL0108", Names, "Argument out of range");
        public static readonly DiagnosticDescriptor RecursiveBlock = Error("MDL0109", Names, "Block uses itself");
        public static readonly DiagnosticDescriptor InvalidRepeatCount = Error("MDL0110", Names, "Invalid repeat count");
        public static readonly DiagnosticDescriptor UnusedValue = Warning("MDL0111", Names, "Value never used");
        public static readonly DiagnosticDescriptor ModelTooLarge = Error("MDL0112", Names, "Model too large");
        public static readonly DiagnosticDescriptor SuspiciousSymbolicDimension = Warning("MDL0113", Names, "Symbolic dimension looks like a typo");
        public static readonly DiagnosticDescriptor NotConstant = Error("MDL0114", Names, "Value must be a constant");
        public static readonly DiagnosticDescriptor UnknownParameter = Error("MDL0115", Names, "Unknown layer parameter");
        public static readonly DiagnosticDescriptor DivisionByZero = Error("MDL0116", Names, "Division by zero");
        public static readonly DiagnosticDescriptor BuildTooLarge = Error("MDL0117", Names, "Generated code too large");
        public static readonly DiagnosticDescriptor UnknownControlName = Error("MDL0120", Names, "Training control names nothing known");
        public static readonly DiagnosticDescriptor UnknownInitializer = Error("MDL0121", Names, "Unknown initialiser");
        public static readonly DiagnosticDescriptor PatternMatchesNothing = Error("MDL0122", Names, "Pattern matches no parameter");
        public static readonly DiagnosticDescriptor GroupOption = Error("MDL0124", Names, "Option a parameter group cannot set");
        public static readonly DiagnosticDescriptor UnknownPrecision = Error("MDL0125", Names, "Unknown precision");
        public static readonly DiagnosticDescriptor RecomputeNamesNoBlock = Error("MDL0126", Names, "Recompute names no block the model uses");

        // MDL02xx: the shape of a model declaration.
        public static readonly DiagnosticDescriptor MissingInput = Error("MDL0200", Structure, "Model has no input");
        public static readonly DiagnosticDescriptor MissingOutput = Error("MDL0201", Structure, "Model has no output");
        public static readonly DiagnosticDescriptor MissingLoss = Warning("MDL0202", Structure, "Model has no loss");
        public static readonly DiagnosticDescriptor MissingOptimizer = Warning("MDL0203", Structure, "Model has no optimizer");
        public static readonly DiagnosticDescriptor DuplicateDeclaration = Error("MDL0204", Structure, "Declaration given twice");
        public static readonly DiagnosticDescriptor UnknownLoss = Error("MDL0205", Structure, "Unknown loss");
        public static readonly DiagnosticDescriptor UnknownOptimizer = Error("MDL0206", Structure, "Unknown optimizer");
        public static readonly DiagnosticDescriptor UnknownDType = Error("MDL0207", Structure, "Unknown element type");
        public static readonly DiagnosticDescriptor LabelOutsideLoss = Error("MDL0208", Structure, "Label used outside the loss");
        public static readonly DiagnosticDescriptor InvalidDimension = Error("MDL0209", Structure, "Invalid dimension");
        public static readonly DiagnosticDescriptor StatementNotAllowed = Error("MDL0210", Structure, "Statement not allowed here");
        public static readonly DiagnosticDescriptor MissingReturn = Error("MDL0211", Structure, "Block has no return");
        public static readonly DiagnosticDescriptor DuplicateModel = Error("MDL0212", Structure, "Model or block defined twice");
        // MDL0213 ("Model name reserved") is retired: runtime types are global:: names in generated code and a C# keyword
        // becomes a verbatim identifier, so neither constrains model names any more. The ID is never reused.
        public static readonly DiagnosticDescriptor ModelNameTaken = Error("MDL0214", Structure, "Model name taken by generated code");
        public static readonly DiagnosticDescriptor ControlConflict = Error("MDL0215", Structure, "Training control conflicts with the model");
        public static readonly DiagnosticDescriptor ParameterMappedTwice = Error("MDL0216", Structure, "Parameter mapped twice");
        public static readonly DiagnosticDescriptor InvalidMapSource = Error("MDL0217", Structure, "Invalid pretrained map entry");
        public static readonly DiagnosticDescriptor DuplicateOutput = Error("MDL0218", Structure, "Output declared twice");
        public static readonly DiagnosticDescriptor OutputIsLabel = Error("MDL0219", Structure, "Label declared as an output");
        public static readonly DiagnosticDescriptor ParameterInTwoGroups = Error("MDL0220", Structure, "Parameter in two groups");
        public static readonly DiagnosticDescriptor GroupAllFrozen = Error("MDL0221", Structure, "Group of frozen parameters only");
        public static readonly DiagnosticDescriptor NotRecomputable = Error("MDL0223", Structure, "Block cannot be recomputed");

        // MDL03xx: tensor shapes and element types.
        public static readonly DiagnosticDescriptor ShapeMismatch = Error("MDL0300", Shapes, "Shape mismatch");
        public static readonly DiagnosticDescriptor RankMismatch = Error("MDL0301", Shapes, "Wrong rank");
        public static readonly DiagnosticDescriptor NotDivisible = Error("MDL0302", Shapes, "Dimension not divisible");
        public static readonly DiagnosticDescriptor DTypeMismatch = Error("MDL0303", Shapes, "Wrong element type");
        public static readonly DiagnosticDescriptor KernelTooLarge = Error("MDL0304", Shapes, "Kernel larger than padded input");
        public static readonly DiagnosticDescriptor SequenceTooLong = Error("MDL0305", Shapes, "Sequence longer than positional table");
        public static readonly DiagnosticDescriptor TiedShapeMismatch = Error("MDL0306", Shapes, "Tied parameters differ in shape");
        public static readonly DiagnosticDescriptor ReshapeMismatch = Error("MDL0307", Shapes, "Reshape changes the element count");
        public static readonly DiagnosticDescriptor SymbolicNotAllowed = Error("MDL0308", Shapes, "Dimension must be known at compile time");
        public static readonly DiagnosticDescriptor AxisOutOfRange = Error("MDL0309", Shapes, "Axis out of range");
        public static readonly DiagnosticDescriptor TooManyElements = Error("MDL0310", Shapes, "Tensor too large");
        public static readonly DiagnosticDescriptor NotTrainable = Error("MDL0311", Shapes, "No generated kernel for this use");
        public static readonly DiagnosticDescriptor NoGpuCode = Warning("MDL0312", Shapes, "No GPU code for this model");
        public static readonly DiagnosticDescriptor UnsupportedOption = Error("MDL0313", Shapes, "Option not supported with these arguments");
        public static readonly DiagnosticDescriptor OneValuePerChannel = Warning("MDL0314", Shapes, "Batch norm with one value per channel");
        public static readonly DiagnosticDescriptor ScheduleTooShort = Error("MDL0318", Shapes, "Schedule ends before its warm-up");
        public static readonly DiagnosticDescriptor InitNeedsFans = Error("MDL0320", Shapes, "Initialiser needs a parameter of rank 2 or more");
        public static readonly DiagnosticDescriptor MapRankMismatch = Error("MDL0321", Shapes, "Map source does not fit the parameter's rank");
        public static readonly DiagnosticDescriptor BlockArgumentType = Error("MDL0322", Shapes, "Block argument does not fit its parameter's type");
        public static readonly DiagnosticDescriptor MaskShape = Error("MDL0323", Shapes, "Mask of the wrong shape");
        public static readonly DiagnosticDescriptor IndexOutOfRange = Error("MDL0324", Shapes, "Index out of range for the axis");
        public static readonly DiagnosticDescriptor MaskShapeMismatch = Error("MDL0325", Shapes, "Mask does not match the reduced axes");
        public static readonly DiagnosticDescriptor InvalidTensorParameter = Error("MDL0326", Shapes, "Invalid tensor parameter of a block");
        public static readonly DiagnosticDescriptor NoBf16Path = Warning("MDL0327", Shapes, "Op has no BF16 path");

        /// <summary>All descriptors, in ID order.</summary>
        public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
        {
            SyntaxError, InvalidNumber, NestingTooDeep, InvalidText, FileTooLarge, NoModel,
            UndefinedName, DuplicateName, UnknownLayer, UnknownArgument, MissingArgument, TooManyArguments,
            DuplicateArgument, ArgumentType, ArgumentOutOfRange, RecursiveBlock, InvalidRepeatCount, UnusedValue,
            ModelTooLarge, SuspiciousSymbolicDimension, NotConstant, UnknownParameter, DivisionByZero, BuildTooLarge,
            UnknownControlName, UnknownInitializer, PatternMatchesNothing, GroupOption, UnknownPrecision, RecomputeNamesNoBlock,
            MissingInput, MissingOutput, MissingLoss, MissingOptimizer, DuplicateDeclaration, UnknownLoss,
            UnknownOptimizer, UnknownDType, LabelOutsideLoss, InvalidDimension, StatementNotAllowed, MissingReturn,
            DuplicateModel, ModelNameTaken, ControlConflict, ParameterMappedTwice, InvalidMapSource, DuplicateOutput, OutputIsLabel,
            ParameterInTwoGroups, GroupAllFrozen, NotRecomputable,
            ShapeMismatch, RankMismatch, NotDivisible, DTypeMismatch, KernelTooLarge, SequenceTooLong,
            TiedShapeMismatch, ReshapeMismatch, SymbolicNotAllowed, AxisOutOfRange, TooManyElements, NotTrainable,
            NoGpuCode, UnsupportedOption, OneValuePerChannel, ScheduleTooShort, InitNeedsFans, MapRankMismatch, BlockArgumentType, MaskShape, IndexOutOfRange, MaskShapeMismatch, InvalidTensorParameter, NoBf16Path,
        };
    }
}
