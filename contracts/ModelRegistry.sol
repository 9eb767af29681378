// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IVerificationModule} from "./interfaces/IVerificationModule.sol";
import {Modes} from "./libraries/Modes.sol";

/// @title ModelRegistry
/// @notice Models, their prices, enabled modes and per-mode settings. Model owners manage their own
/// models; governance (the contract owner) maps mode ids to verification modules.
contract ModelRegistry is IModelRegistry, Ownable2Step {
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(address token => uint256)) private _prices;
    mapping(uint256 modelId => mapping(uint8 mode => bytes)) private _modeConfigs;
    mapping(uint8 mode => IVerificationModule) private _modules;
    uint256 private _modelCount;

    constructor(address initialOwner) Ownable(initialOwner) {}

    modifier onlyModelOwner(uint256 modelId) {
        address owner_ = _requireModel(modelId).owner;
        // INVARIANT: only a model's owner changes its price, status, stake or mode settings.
        if (msg.sender != owner_) revert ModelRegistryNotModelOwner(modelId, msg.sender);
        _;
    }

    /// @inheritdoc IModelRegistry
    function registerModel(
        bytes32 modelHash,
        string calldata artifactURI,
        uint256 ethPrice,
        uint256 operatorStake,
        ModeConfig[] calldata modes
    ) external returns (uint256 modelId) {
        if (modelHash == bytes32(0)) revert ModelRegistryZeroModelHash();
        if (modes.length == 0) revert ModelRegistryNoModes();
        if (ethPrice == 0) revert ModelRegistryZeroPrice();

        modelId = ++_modelCount;
        Model storage model = _models[modelId];
        model.owner = msg.sender;
        model.active = true;
        model.modelHash = modelHash;
        model.operatorStake = operatorStake;
        model.artifactURI = artifactURI;
        emit ModelRegistered(modelId, msg.sender, modelHash, artifactURI, operatorStake);

        _prices[modelId][address(0)] = ethPrice;
        emit ModelPriceSet(modelId, address(0), ethPrice);

        for (uint256 i = 0; i < modes.length; ++i) {
            uint8 mode = modes[i].mode;
            if (model.modes & Modes.bit(_requireModeId(mode)) != 0) revert ModelRegistryDuplicateMode(mode);
            _configureMode(modelId, model, mode, modes[i].config);
        }
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, address token, uint256 price) external onlyModelOwner(modelId) {
        _prices[modelId][token] = price;
        emit ModelPriceSet(modelId, token, price);
    }

    /// @inheritdoc IModelRegistry
    function configureMode(uint256 modelId, uint8 mode, bytes calldata config) external onlyModelOwner(modelId) {
        _configureMode(modelId, _models[modelId], _requireModeId(mode), config);
    }

    /// @inheritdoc IModelRegistry
    function disableMode(uint256 modelId, uint8 mode) external onlyModelOwner(modelId) {
        Model storage model = _models[modelId];
        if (mode >= Modes.MAX_MODES || model.modes & Modes.bit(mode) == 0) {
            revert ModelRegistryModeNotEnabled(modelId, mode);
        }
        model.modes &= ~Modes.bit(mode);
        delete _modeConfigs[modelId][mode];
        emit ModelModeDisabled(modelId, mode);
    }

    /// @inheritdoc IModelRegistry
    function setActive(uint256 modelId, bool active) external onlyModelOwner(modelId) {
        _models[modelId].active = active;
        emit ModelStatusChanged(modelId, active);
    }

    /// @inheritdoc IModelRegistry
    function setOperatorStake(uint256 modelId, uint256 operatorStake) external onlyModelOwner(modelId) {
        _models[modelId].operatorStake = operatorStake;
        emit ModelOperatorStakeSet(modelId, operatorStake);
    }

    /// @inheritdoc IModelRegistry
    function setArtifactURI(uint256 modelId, string calldata artifactURI) external onlyModelOwner(modelId) {
        _models[modelId].artifactURI = artifactURI;
        emit ModelArtifactURISet(modelId, artifactURI);
    }

    /// @inheritdoc IModelRegistry
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        if (newOwner == address(0)) revert ModelRegistryZeroAddress();
        _models[modelId].owner = newOwner;
        emit ModelOwnerChanged(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function setModeModule(uint8 mode, IVerificationModule module) external onlyOwner {
        if (mode >= Modes.MAX_MODES) revert ModelRegistryUnknownMode(mode);
        _modules[mode] = module;
        emit ModeModuleSet(mode, address(module));
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _requireModel(modelId);
    }

    /// @inheritdoc IModelRegistry
    function priceOf(uint256 modelId, address token) external view returns (uint256) {
        return _prices[modelId][token];
    }

    /// @inheritdoc IModelRegistry
    function modeConfig(uint256 modelId, uint8 mode) external view returns (bytes memory) {
        if (!_isModeEnabled(_requireModel(modelId), mode)) revert ModelRegistryModeNotEnabled(modelId, mode);
        return _modeConfigs[modelId][mode];
    }

    /// @inheritdoc IModelRegistry
    function isModeEnabled(uint256 modelId, uint8 mode) external view returns (bool) {
        return _isModeEnabled(_models[modelId], mode);
    }

    /// @inheritdoc IModelRegistry
    function moduleOf(uint8 mode) external view returns (IVerificationModule) {
        return mode < Modes.MAX_MODES ? _modules[mode] : IVerificationModule(address(0));
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IModelRegistry
    function requireServable(
        uint256 modelId,
        uint8 mode
    ) external view returns (IVerificationModule module, uint256 operatorStake) {
        Model storage model = _requireModel(modelId);
        if (!model.active) revert ModelRegistryModelInactive(modelId);
        if (!_isModeEnabled(model, mode)) revert ModelRegistryModeNotEnabled(modelId, mode);
        module = _modules[mode];
        if (address(module) == address(0)) revert ModelRegistryUnknownMode(mode);
        operatorStake = model.operatorStake;
    }

    function _configureMode(uint256 modelId, Model storage model, uint8 mode, bytes calldata config) private {
        _modules[mode].validateModelConfig(modelId, config);
        model.modes |= Modes.bit(mode);
        _modeConfigs[modelId][mode] = config;
        emit ModelModeConfigured(modelId, mode, config);
    }

    function _requireModeId(uint8 mode) private view returns (uint8) {
        if (mode >= Modes.MAX_MODES || address(_modules[mode]) == address(0)) revert ModelRegistryUnknownMode(mode);
        return mode;
    }

    function _requireModel(uint256 modelId) private view returns (Model storage model) {
        model = _models[modelId];
        if (model.owner == address(0)) revert ModelRegistryUnknownModel(modelId);
    }

    function _isModeEnabled(Model storage model, uint8 mode) private view returns (bool) {
        return mode < Modes.MAX_MODES && model.modes & Modes.bit(mode) != 0;
    }
}
