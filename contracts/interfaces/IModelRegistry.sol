// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVerificationModule} from "./IVerificationModule.sol";

/// @title IModelRegistry
/// @notice Catalogue of the models veriml serves. A model is named by `modelHash`, the commitment to
/// its canonical integer graph (weights and scales included), so an id pins exactly what operators
/// must execute. Each model enables one or more verification modes, each with its own config blob
/// that the mode's module decodes and validates.
interface IModelRegistry {
    /// @notice A registered model.
    /// @param owner Account allowed to change price, status and mode settings.
    /// @param active Whether new requests may be created for the model.
    /// @param modes Bit mask of enabled mode ids (bit `m` set when mode `m` is enabled).
    /// @param modelHash Commitment to the canonical integer graph.
    /// @param operatorStake Stake locked from the assigned operator for each request it claims.
    /// @param artifactURI Where operators fetch the model artifacts (integer graph, circuit, keys).
    struct Model {
        address owner;
        bool active;
        uint8 modes;
        bytes32 modelHash;
        uint256 operatorStake;
        string artifactURI;
    }

    /// @notice Settings for one mode of a model at registration time.
    struct ModeConfig {
        uint8 mode;
        bytes config;
    }

    /// @notice Emitted when a model is registered.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 indexed modelHash,
        string artifactURI,
        uint256 operatorStake
    );
    /// @notice Emitted when a model's price in `token` (address(0) for ETH) is set; zero disables the token.
    event ModelPriceSet(uint256 indexed modelId, address indexed token, uint256 price);
    /// @notice Emitted when a mode is enabled or its settings are replaced.
    event ModelModeConfigured(uint256 indexed modelId, uint8 indexed mode, bytes config);
    /// @notice Emitted when a mode is disabled for a model.
    event ModelModeDisabled(uint256 indexed modelId, uint8 indexed mode);
    /// @notice Emitted when a model is activated or deactivated.
    event ModelStatusChanged(uint256 indexed modelId, bool active);
    /// @notice Emitted when the stake locked per request changes.
    event ModelOperatorStakeSet(uint256 indexed modelId, uint256 operatorStake);
    /// @notice Emitted when the artifact URI changes (the modelHash never does).
    event ModelArtifactURISet(uint256 indexed modelId, string artifactURI);
    /// @notice Emitted when model ownership moves.
    event ModelOwnerChanged(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when governance points a mode id at a verification module.
    event ModeModuleSet(uint8 indexed mode, address indexed module);

    /// @notice The model id does not exist.
    error ModelRegistryUnknownModel(uint256 modelId);
    /// @notice The caller does not own the model.
    error ModelRegistryNotModelOwner(uint256 modelId, address caller);
    /// @notice The mode id has no module behind it.
    error ModelRegistryUnknownMode(uint8 mode);
    /// @notice The mode is not enabled for this model.
    error ModelRegistryModeNotEnabled(uint256 modelId, uint8 mode);
    /// @notice The model is deactivated.
    error ModelRegistryModelInactive(uint256 modelId);
    /// @notice A model must name a non-zero commitment.
    error ModelRegistryZeroModelHash();
    /// @notice A model needs at least one mode.
    error ModelRegistryNoModes();
    /// @notice The same mode appears twice at registration.
    error ModelRegistryDuplicateMode(uint8 mode);
    /// @notice A model must be priced in ETH at registration.
    error ModelRegistryZeroPrice();
    /// @notice Zero address given where an account or contract is required.
    error ModelRegistryZeroAddress();

    /// @notice Registers a model owned by the caller.
    /// @param modelHash Commitment to the canonical integer graph.
    /// @param artifactURI Where the artifacts live.
    /// @param ethPrice Operator price per request in wei (other tokens via setPrice).
    /// @param operatorStake Stake locked per claimed request.
    /// @param modes Mode settings; each config is validated by its mode's module.
    /// @return modelId The new model's id (ids start at 1).
    function registerModel(
        bytes32 modelHash,
        string calldata artifactURI,
        uint256 ethPrice,
        uint256 operatorStake,
        ModeConfig[] calldata modes
    ) external returns (uint256 modelId);

    /// @notice Sets the price in `token` (address(0) = ETH); zero stops accepting the token.
    function setPrice(uint256 modelId, address token, uint256 price) external;

    /// @notice Enables `mode` or replaces its settings.
    function configureMode(uint256 modelId, uint8 mode, bytes calldata config) external;

    /// @notice Disables `mode` for the model.
    function disableMode(uint256 modelId, uint8 mode) external;

    /// @notice Activates or deactivates the model for new requests.
    function setActive(uint256 modelId, bool active) external;

    /// @notice Sets the stake locked per claimed request.
    function setOperatorStake(uint256 modelId, uint256 operatorStake) external;

    /// @notice Moves the artifacts (same modelHash, new location).
    function setArtifactURI(uint256 modelId, string calldata artifactURI) external;

    /// @notice Hands the model to a new owner.
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /// @notice Governance: points `mode` at `module` (address(0) retires the mode).
    function setModeModule(uint8 mode, IVerificationModule module) external;

    /// @notice The model, reverting for an unknown id.
    function getModel(uint256 modelId) external view returns (Model memory);

    /// @notice Price of one request in `token`; zero when the token is not accepted.
    function priceOf(uint256 modelId, address token) external view returns (uint256);

    /// @notice Settings of `mode` for the model, reverting when the mode is not enabled.
    function modeConfig(uint256 modelId, uint8 mode) external view returns (bytes memory);

    /// @notice Whether `mode` is enabled for the model.
    function isModeEnabled(uint256 modelId, uint8 mode) external view returns (bool);

    /// @notice The module behind `mode` (address(0) when none).
    function moduleOf(uint8 mode) external view returns (IVerificationModule);

    /// @notice Number of registered models (the highest id).
    function modelCount() external view returns (uint256);

    /// @notice Checks that a request can be made for the model in `mode` and returns what it needs.
    /// @dev Reverts with ModelRegistryUnknownModel, ModelRegistryModelInactive, ModelRegistryModeNotEnabled
    /// or ModelRegistryUnknownMode.
    function requireServable(
        uint256 modelId,
        uint8 mode
    ) external view returns (IVerificationModule module, uint256 operatorStake);
}
